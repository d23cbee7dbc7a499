"""The FastAPI application: REST API under /api/v1, staff login, and the Gradio UIs mounted beside it.

    /chat     customers (no login; guest or verified inside the page)
    /agent    agents and the admin          (session cookie from /login)
    /admin    the admin only
    /api/v1   REST; OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

import gradio as gr
from fastapi import FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sajang import __version__
from sajang.app.api import build_api_router
from sajang.app.deps import staff_from_cookie
from sajang.app.schemas import ErrorOut, Health
from sajang.config import Settings, apply_offline_defaults, get_settings
from sajang.db.errors import DataError
from sajang.errors import SajangError, Unauthorized
from sajang.graphs.common.context import engine_for
from sajang.security import SESSION_COOKIE, STAFF_TOKEN_TTL_S, issue_staff_token, secret_key
from sajang.services import ratelimit
from sajang.services.accounts import claims_for, login
from sajang.ui.admin import build_admin
from sajang.ui.agent_hub import build_agent_hub
from sajang.ui.chat import CSS as CHAT_CSS
from sajang.ui.chat import build_chat
from sajang.ui.login import denied_page, login_page

log = logging.getLogger("sajang.app")

CSRF_COOKIE = "sajang_csrf"
UI_ROLES: dict[str, tuple[str, ...]] = {"agent": ("agent", "admin"), "admin": ("admin",)}
UI_BUILDERS: dict[str, Callable[[Settings], Any]] = {"agent": build_agent_hub, "admin": build_admin}
_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 413: "too_large",
                 415: "unsupported_media_type", 422: "validation_error", 429: "rate_limited"}


def create_app(settings: Settings | None = None, *, mount_ui: bool = True) -> FastAPI:
    apply_offline_defaults()
    settings = settings or get_settings()
    engine = engine_for(settings)  # migrations run before the first request
    secret_key(settings)  # generated into the data dir now, not on the first login
    app = FastAPI(title="Sajang API", version=__version__, openapi_url="/api/v1/openapi.json",
                  docs_url="/api/v1/docs", redoc_url=None,
                  description="사장님 AI 매니저: customer chat, agent queue and back office. Errors are "
                              '`{"code", "message"}` JSON with a 4xx status.')
    app.state.settings = settings
    app.state.engine = engine
    _install_error_handlers(app)
    app.include_router(build_api_router())

    @app.get("/api/v1/health", tags=["health"], response_model=Health)
    def health() -> Health:
        return Health(status="ok", version=__version__)

    @app.head("/api/v1/health", include_in_schema=False)
    def health_probe() -> Response:  # load balancers probe with HEAD
        return Response(status_code=200)

    _install_login_routes(app, settings, engine)
    if mount_ui:
        _mount_uis(app, settings, engine)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.add_middleware(_Guard, settings=settings, engine=engine)
    return app


# --- errors ----------------------------------------------------------------------------------------


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None,
           errors: list[dict[str, Any]] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SajangError)
    async def sajang_error(_request: Request, exc: SajangError) -> JSONResponse:
        headers: dict[str, str] = {}
        if exc.status_code == 401:
            headers["WWW-Authenticate"] = "Bearer"
        retry = getattr(exc, "retry_after", None)
        if retry:
            headers["Retry-After"] = str(retry)
        return _error(exc.status_code, exc.code, str(exc), headers)

    @app.exception_handler(DataError)
    async def data_error(_request: Request, exc: DataError) -> JSONResponse:
        return _error(400, "invalid_data", str(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # Where and why, never the offending input itself (it may be huge or personal).
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")),
                   "type": str(e.get("type", ""))} for e in exc.errors()[:20]]
        first: dict[str, Any] = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(first["loc"])
        return _error(422, "validation_error", f"{where}: {first['msg']}" if where else first["msg"],
                      errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else _STATUS_CODES.get(exc.status_code, "error")
        return _error(exc.status_code, _STATUS_CODES.get(exc.status_code, "error"), message,
                      dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        # Last resort: logged here with the traceback, answered without any detail.
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return _error(500, "internal_error", "internal error: the request could not be completed")


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated spec with our error shape documented for 422 (and 401/429 where they can happen)."""
    if app.openapi_schema:
        return app.openapi_schema
    spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorOut"] = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    error_content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            responses = op.setdefault("responses", {})
            if "422" in responses or op.get("parameters") or op.get("requestBody"):
                responses["422"] = {"description": "Validation error", "content": error_content}
            if op.get("security"):
                responses.setdefault("401", {"description": "Not logged in", "content": error_content})
                responses.setdefault("403", {"description": "Wrong role", "content": error_content})
            if method in ("post", "patch", "put", "delete") or path.startswith("/api/v1/chat"):
                responses.setdefault("429", {"description": "Too many requests", "content": error_content})
    app.openapi_schema = spec
    return spec


# --- staff login (session cookie for the UIs) -------------------------------------------------------


def _safe_next(value: str | None, default: str = "/agent") -> str:
    """Only local paths: `//evil.example` or `https://…` would make /login an open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 300:
        return default
    if any(ord(ch) < 32 for ch in value):
        return default
    return value


def _locale(lang: str | None, settings: Settings) -> str:
    return lang if lang in ("ko", "en") else settings.locale


def _install_login_routes(app: FastAPI, settings: Settings, engine: Engine) -> None:
    def render(request: Request, locale: str, next_path: str, error: str | None = None, username: str = "",
               status: int = 200) -> HTMLResponse:
        csrf = request.cookies.get(CSRF_COOKIE)
        if not csrf or len(csrf) != 43:
            csrf = secrets.token_urlsafe(32)
        resp = HTMLResponse(login_page(locale, next_path, csrf, error, username), status_code=status,
                            headers={"Cache-Control": "no-store"})
        resp.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", path="/login",
                        secure=request.url.scheme == "https")
        return resp

    @app.get("/login", include_in_schema=False)
    def login_form(request: Request, next: Annotated[str | None, Query(max_length=300)] = None,
                   lang: Annotated[str | None, Query(max_length=5)] = None) -> Response:
        locale = _locale(lang, settings)
        user = staff_from_cookie(request, settings, engine)
        next_path = _safe_next(next)
        if user is not None and next:
            return RedirectResponse(next_path, status_code=303)
        return render(request, locale, next_path)

    @app.post("/login", include_in_schema=False)
    def login_submit(request: Request, username: Annotated[str, Form(max_length=64)] = "",
                     password: Annotated[str, Form(max_length=256)] = "",
                     next: Annotated[str, Form(max_length=300)] = "",
                     csrf: Annotated[str, Form(max_length=100)] = "",
                     lang: Annotated[str | None, Query(max_length=5)] = None) -> Response:
        locale = _locale(lang, settings)
        cookie = request.cookies.get(CSRF_COOKIE) or ""
        if not cookie or not hmac.compare_digest(cookie.encode(), csrf.encode()):
            return render(request, locale, _safe_next(next), "expired", username, status=400)
        ip = request.client.host if request.client else "unknown"
        try:
            ratelimit.check("login_ip", ip, 10, what="login attempts")
            user = login(engine, username, password, ip)
        except ratelimit.RateLimited:
            return render(request, locale, _safe_next(next), "limited", username, status=429)
        except Unauthorized:
            return render(request, locale, _safe_next(next), "bad", username, status=401)
        default = "/admin" if user.role == "admin" else "/agent"
        resp = RedirectResponse(_safe_next(next, default), status_code=303)
        resp.set_cookie(SESSION_COOKIE, issue_staff_token(settings, claims_for(user), kind="session"),
                        max_age=STAFF_TOKEN_TTL_S, httponly=True, samesite="lax", path="/",
                        secure=request.url.scheme == "https")
        resp.delete_cookie(CSRF_COOKIE, path="/login")
        return resp

    @app.get("/logout", include_in_schema=False)
    def logout(next: Annotated[str | None, Query(max_length=300)] = None) -> Response:
        target = "/login" + (f"?next={quote(_safe_next(next))}" if next else "")
        resp = RedirectResponse(target, status_code=303)
        resp.delete_cookie(SESSION_COOKIE, path="/")
        return resp

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse("/chat/", status_code=307)


# --- Gradio UIs --------------------------------------------------------------------------------------


def ui_auth_dependency(settings: Settings, engine: Engine, roles: tuple[str, ...]) -> Callable[[Request], str | None]:
    """For `gr.mount_gradio_app(auth_dependency=...)`: the username when the session cookie's user has
    one of `roles`, else None (Gradio answers 401)."""

    def dependency(request: Request) -> str | None:
        user = staff_from_cookie(request, settings, engine)
        return user.username if user is not None and user.role in roles else None

    return dependency


def _mount_uis(app: FastAPI, settings: Settings, engine: Engine) -> None:
    # Gradio's own upload limit: a little above ours, so our check gives the clear message.
    upload_limit = settings.max_attachment_bytes + 64 * 1024
    gr.mount_gradio_app(app, build_chat(settings), path="/chat", footer_links=[], run_history=False,
                        max_file_size=upload_limit, show_error=False, css=CHAT_CSS)
    for area, roles in UI_ROLES.items():
        gr.mount_gradio_app(app, UI_BUILDERS[area](settings), path=f"/{area}", footer_links=[],
                            run_history=False, max_file_size=upload_limit, show_error=False,
                            auth_dependency=ui_auth_dependency(settings, engine, roles))


class _Guard:
    """Pure ASGI middleware (streams pass through untouched):

    - GET of the /agent and /admin pages: no login → 303 to /login?next=…; wrong role → 403 page;
    - a declared body larger than any accepted request → 413 before it is read;
    - security headers on every response.
    """

    def __init__(self, app: ASGIApp, settings: Settings, engine: Engine) -> None:
        self.app = app
        self.settings = settings
        self.engine = engine
        self.max_body = settings.max_attachment_bytes + 256 * 1024

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        early = self._early_response(scope)
        if early is not None:
            await early(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                for key, value in ((b"x-content-type-options", b"nosniff"),
                                   (b"referrer-policy", b"same-origin"),
                                   (b"x-frame-options", b"SAMEORIGIN")):
                    if key not in names:
                        headers.append((key, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _early_response(self, scope: Scope) -> Response | None:
        request = Request(scope)
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > self.max_body:
            return _error(413, "too_large", f"request body too large (limit {self.max_body} bytes)")
        path = scope.get("path", "")
        area = path.strip("/")
        if request.method == "GET" and area in UI_ROLES and path in (f"/{area}", f"/{area}/"):
            user = staff_from_cookie(request, self.settings, self.engine)
            if user is None:
                return RedirectResponse(f"/login?next={quote('/' + area + '/')}", status_code=303)
            if user.role not in UI_ROLES[area]:
                return HTMLResponse(denied_page(user.locale or self.settings.locale, user.display_name,
                                                user.role, area), status_code=403)
        return None
