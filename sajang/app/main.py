"""The FastAPI application: REST API under /api/v1 and the Gradio UIs mounted beside it."""

from __future__ import annotations

from fastapi import FastAPI

from sajang import __version__
from sajang.app.context import engine_for
from sajang.config import Settings, apply_offline_defaults, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    apply_offline_defaults()
    settings = settings or get_settings()
    engine_for(settings)  # migrations run before the first request
    api = FastAPI(title="Sajang API", version=__version__, openapi_url="/api/v1/openapi.json",
                  docs_url="/api/v1/docs", redoc_url=None)

    @api.get("/api/v1/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return api
