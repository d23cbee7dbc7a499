"""The FastAPI application: REST API under /api/v1, staff login, and the Gradio UIs mounted beside it.

    /chat     customers (no login; guest or verified inside the page)
    /agent    agents and the admin          (session cookie from /login)
    /admin    the admin only
    /api/v1   REST; OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

from fastapi import FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sajang import __version__
from sajang.app.api import build_api_router
from sajang.app.api_docs import install_docs
from sajang.app.channels import build_channels_router
from sajang.app.deps import staff_from_cookie
from sajang.app.observability import install_observability
from sajang.app.schemas import ErrorOut, Health
from sajang.app.serving import reconcile_at_start_up
from sajang.config import Settings, apply_offline_defaults, get_settings
from sajang.db.errors import DataError
from sajang.errors import SajangError, Unauthorized
from sajang.graphs.common.context import engine_for
from sajang.security import SESSION_COOKIE, STAFF_TOKEN_TTL_S, issue_staff_token, secret_key
from sajang.services import ratelimit, staff_files
from sajang.services.accounts import claims_for, login
from sajang.services.attachments import sniff_image_type
from sajang.tracing import configure_tracing
from sajang.ui.login import denied_page, login_page

if TYPE_CHECKING:
    import gradio as gr

log = logging.getLogger("sajang.app")

CSRF_COOKIE = "sajang_csrf"
UI_ROLES: dict[str, tuple[str, ...]] = {"agent": ("agent", "admin"), "admin": ("admin",)}
_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 413: "too_large",
                 415: "unsupported_media_type", 422: "validation_error", 429: "rate_limited"}


def create_app(settings: Settings | None = None, *, mount_ui: bool | None = None,
               reconcile_at_start: bool = True) -> FastAPI:
    """The app; the Gradio UIs when `mount_ui` (default: the `SAJANG_UI` setting). `reconcile_at_start`
    False: the start-up reconcile was done by whoever started this process (`serve --workers`)."""
    apply_offline_defaults()
    settings = settings or get_settings()
    configure_tracing(settings.tracing)  # off unless SAJANG_TRACING says otherwise
    mount_ui = settings.ui if mount_ui is None else mount_ui
    engine = engine_for(settings)  # migrations run before the first request
    secret_key(settings)  # generated into the data dir now, not on the first login
    ratelimit.configure(settings.redis_url, settings.redis_prefix)  # shared buckets when REDIS_URL is set

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if reconcile_at_start:
            await run_in_threadpool(reconcile_at_start_up, settings)
        yield

    app = FastAPI(title="Sajang API", version=__version__, openapi_url="/api/v1/openapi.json",
                  docs_url=None, redoc_url=None, lifespan=lifespan,  # /api/v1/docs: our page, no CDN (api_docs.py)
                  description="사장님 AI 매니저: customer chat, agent queue and back office. Errors are "
                              '`{"code", "message"}` JSON with a 4xx status.')
    app.state.settings = settings
    app.state.engine = engine
    _install_error_handlers(app)
    app.include_router(build_api_router())
    app.include_router(build_channels_router(settings))  # only the channels SAJANG_CHANNELS names

    @app.get("/api/v1/health", tags=["health"], response_model=Health)
    def health() -> Health:
        return Health(status="ok", version=__version__)

    @app.head("/api/v1/health", include_in_schema=False)
    def health_probe() -> Response:  # load balancers probe with HEAD
        return Response(status_code=200)

    install_docs(app)
    _install_login_routes(app, settings, engine, home="/chat/" if mount_ui else "/api/v1/docs")
    if mount_ui:
        _mount_uis(app, settings, engine)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.add_middleware(_Guard, settings=settings, engine=engine)
    if settings.cors_origins:
        # the widget on the shop's own site calls /api/v1/chat/* with a bearer token, never cookies
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"],
                           max_age=600)
    install_observability(app, settings)  # outermost: the request id covers the guard's answers too
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


def _install_login_routes(app: FastAPI, settings: Settings, engine: Engine, home: str) -> None:
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
        return RedirectResponse(home, status_code=307)

    @app.get("/staff/files/{token}", include_in_schema=False)
    def staff_file(token: str, request: Request) -> Response:
        """A file made for staff (the outbox CSV): only to a logged-in user of its role, never cached."""
        user = staff_from_cookie(request, settings, engine)
        if user is None:
            return _error(401, "unauthorized", "login required")
        path = staff_files.staff_file(settings, token, user.role)
        return FileResponse(path, media_type="text/csv" if path.suffix == ".csv" else "application/octet-stream",
                            filename=path.name, content_disposition_type="attachment",
                            headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


# --- Gradio UIs --------------------------------------------------------------------------------------


def ui_auth_dependency(settings: Settings, engine: Engine, roles: tuple[str, ...]) -> Callable[[Request], str | None]:
    """For `gr.mount_gradio_app(auth_dependency=...)`: the username when the session cookie's user has
    one of `roles`, else None (Gradio answers 401)."""

    def dependency(request: Request) -> str | None:
        user = staff_from_cookie(request, settings, engine)
        return user.username if user is not None and user.role in roles else None

    return dependency


GRADIO_AREAS = ("chat", *UI_ROLES)
GRADIO_DELETE_CACHE = (300, 900)  # every 5 minutes, the files a Gradio app made or received over 15 minutes ago


def gradio_file_dir(settings: Settings, area: str) -> Path:
    """Where the Gradio app of `area` keeps its uploads and the files it shows: its own folder (0700) in
    Gradio's temporary directory, per data dir, so that no app's file route serves another app's files."""
    from gradio.utils import get_upload_folder

    tag = hashlib.sha256(str(Path(settings.data_dir).resolve()).encode()).hexdigest()[:10]
    return Path(get_upload_folder()) / f"sajang-{area}-{tag}"


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def _refuse_malformed_input_quietly(blocks: gr.Blocks) -> None:
    """Inputs that do not fit the event's components (anyone can post to the queue): the caller gets
    Gradio's error event and the log one line, not a traceback per call."""
    import gradio as gr

    original = blocks.preprocess_data

    async def preprocess_data(*args: Any, **kwargs: Any) -> Any:
        try:
            return await original(*args, **kwargs)
        except gr.Error:
            raise
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:  # pydantic's too
            log.info("malformed Gradio input refused: %s", type(exc).__name__)
            raise gr.Error("malformed input", print_exception=False) from None

    blocks.preprocess_data = preprocess_data  # type: ignore[method-assign]


def _mount_gradio(app: FastAPI, settings: Settings, blocks: gr.Blocks, area: str, **kwargs: Any) -> None:
    """Mount one Gradio app so that its file route serves only its own files: uploads and shown files go
    to its own folder, and the other apps' folders and the data dir (attachments, staff files: served by
    authenticated routes only) are `blocked_paths`."""
    import gradio as gr
    from gradio.route_utils import FnIndexInferError

    own = _private_dir(gradio_file_dir(settings, area))
    for block in blocks.blocks.values():  # each component caches the files it shows in its GRADIO_CACHE
        block.GRADIO_CACHE = str(own)
    blocks.delete_cache = GRADIO_DELETE_CACHE
    _refuse_malformed_input_quietly(blocks)
    blocked = [str(gradio_file_dir(settings, other)) for other in GRADIO_AREAS if other != area]
    blocked.append(str(Path(settings.data_dir).resolve()))
    gr.mount_gradio_app(app, blocks, path=f"/{area}", footer_links=[], run_history=False, show_error=False,
                        blocked_paths=blocked, **kwargs)
    mounted = next(r for r in reversed(app.routes) if isinstance(r, Mount) and r.path == f"/{area}")
    mounted.app.uploaded_file_dir = str(own)  # type: ignore[attr-defined]  # gradio.routes.App
    # what Gradio raises on a request it could not parse: answered 4xx here, logged in one line, not re-raised
    # to the server's log with a traceback (per class)
    for error in (FnIndexInferError, KeyError, IndexError, ValueError, TypeError):
        mounted.app.add_exception_handler(error, _malformed_gradio_call)  # type: ignore[attr-defined]


async def _malformed_gradio_call(request: Request, exc: Exception) -> Response:
    """A call Gradio could not parse (an unknown function, a wrong payload): the caller's mistake."""
    from gradio.route_utils import FnIndexInferError

    log.info("malformed Gradio call refused on %s: %s", request.url.path, type(exc).__name__)
    if isinstance(exc, FnIndexInferError | KeyError):
        return _error(404, "not_found", "no such function")
    return _error(400, "bad_request", "malformed call")


def _mount_uis(app: FastAPI, settings: Settings, engine: Engine) -> None:
    # Gradio and the UIs are imported only when mounted: an API-only server (`SAJANG_UI=off`, the replicas
    # behind a proxy) does without their ~90 MB and their import time
    from sajang.ui.admin import build_admin
    from sajang.ui.agent_hub import build_agent_hub
    from sajang.ui.chat import CSS as CHAT_CSS
    from sajang.ui.chat import build_chat

    ui_builders: dict[str, Callable[[Settings], Any]] = {"agent": build_agent_hub, "admin": build_admin}
    # Gradio's own upload limit: a little above ours, so our check gives the clear message.
    upload_limit = settings.max_attachment_bytes + 64 * 1024
    staff_files.sweep(settings)
    _mount_gradio(app, settings, build_chat(settings), "chat", max_file_size=upload_limit, css=CHAT_CSS)
    for area, roles in UI_ROLES.items():
        _mount_gradio(app, settings, ui_builders[area](settings), area, max_file_size=upload_limit,
                      auth_dependency=ui_auth_dependency(settings, engine, roles))


CHAT_UPLOAD_PATH = "/chat/gradio_api/upload"


def _one_image_upload(content_type: str, body: bytes, limit: int) -> str | None:
    """Why a multipart upload body is refused (None: it holds exactly one image within `limit`)."""
    if len(body) > limit:
        return "file too large"
    kind, _, params = content_type.partition(";")
    boundary = ""
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"')
    if kind.strip().lower() != "multipart/form-data" or not boundary:
        return "an upload is multipart/form-data"
    parts = body.split(b"--" + boundary.encode())
    files = [part for part in parts[1:-1] if b"filename=" in part.split(b"\r\n\r\n", 1)[0]]
    if len(files) != 1 or len(parts) != 3:
        return "one file per upload"
    data = files[0].split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in files[0] else b""
    if sniff_image_type(data.removesuffix(b"\r\n")) is None:
        return "only images (JPEG, PNG, GIF, WebP) can be sent"
    return None


class _Guard:
    """Pure ASGI middleware (streams pass through untouched):

    - GET of the /agent and /admin pages: no login → 303 to /login?next=…; wrong role → 403 page;
    - a declared body larger than any accepted request → 413 before it is read;
    - Gradio's file routes: never a URL (Gradio would fetch it), and the public /chat serves no file at all
      (its page shows attachments through the signed attachment route; `_mount_gradio` keeps every app to
      its own files);
    - the public /chat's Gradio upload route bounded like the REST attachment route: a rate per client
      address, one image per request (sniffed), the attachment size; what it keeps is deleted by the page's
      handler at once, else by Gradio's cache clean-up (`GRADIO_DELETE_CACHE`);
    - security headers on every response.
    """

    def __init__(self, app: ASGIApp, settings: Settings, engine: Engine) -> None:
        self.app = app
        self.settings = settings
        self.engine = engine
        self.max_body = settings.max_attachment_bytes + 256 * 1024
        # who may frame our pages: `frame-ancestors` from the settings (the shop's own site can frame /chat);
        # X-Frame-Options only when nobody else may (it cannot name other origins)
        ancestors = " ".join(["'self'", *settings.frame_ancestors])
        self.security_headers: list[tuple[bytes, bytes]] = [
            (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"),
            (b"content-security-policy", f"frame-ancestors {ancestors}".encode())]
        if not settings.frame_ancestors:
            self.security_headers.append((b"x-frame-options", b"SAMEORIGIN"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        early = self._early_response(scope)
        if early is not None:
            await early(scope, receive, send)
            return
        if scope.get("method") == "POST" and scope.get("path") == CHAT_UPLOAD_PATH:
            replay = await self._bounded_chat_upload(scope, receive, send)
            if replay is None:
                return
            receive = replay

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                for key, value in self.security_headers:
                    if key not in names:
                        headers.append((key, value))
                if b"content-security-policy" in names and b"x-frame-options" not in names:
                    headers.append((b"x-frame-options", b"SAMEORIGIN"))  # a response with its own policy
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _bounded_chat_upload(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """The body of a /chat upload when it passes the bounds (replayed to Gradio), else None with the
        refusal sent."""
        request = Request(scope)
        refusal: Response | None = None
        limit = self.settings.max_attachment_bytes + 16 * 1024
        length = request.headers.get("content-length") or ""
        ip = request.client.host if request.client else "unknown"
        try:
            ratelimit.check("chat_gradio_upload_ip", ip, self.settings.rate_limit_per_minute, what="uploads")
        except ratelimit.RateLimited as exc:
            refusal = _error(429, "rate_limited", str(exc), {"Retry-After": str(exc.retry_after)})
        if refusal is None and not length.isdigit():
            refusal = _error(411, "length_required", "an upload needs a Content-Length")
        elif refusal is None and int(length) > limit:
            refusal = _error(413, "too_large", f"file too large (limit {self.settings.max_attachment_bytes} bytes)")
        body = b""
        if refusal is None:
            more = True
            while more and len(body) <= limit:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return None
                body += message.get("body", b"")
                more = message.get("more_body", False)
            problem = _one_image_upload(request.headers.get("content-type") or "", body, limit)
            if problem:
                status = 413 if "large" in problem else 415 if "image" in problem else 400
                refusal = _error(status, _STATUS_CODES[status], problem)
        if refusal is not None:
            await refusal(scope, receive, send)
            return None
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    def _early_response(self, scope: Scope) -> Response | None:
        request = Request(scope)
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > self.max_body:
            return _error(413, "too_large", f"request body too large (limit {self.max_body} bytes)")
        path = scope.get("path", "")
        if "/gradio_api/file=" in path:
            target = path.split("/gradio_api/file=", 1)[1]
            if path.startswith("/chat/") or "://" in target or target.startswith("//") or ":" in target[:8]:
                return _error(404, "not_found", "no such file")
        area = path.strip("/")
        if request.method == "GET" and area in UI_ROLES and path in (f"/{area}", f"/{area}/"):
            user = staff_from_cookie(request, self.settings, self.engine)
            if user is None:
                return RedirectResponse(f"/login?next={quote('/' + area + '/')}", status_code=303)
            if user.role not in UI_ROLES[area]:
                return HTMLResponse(denied_page(user.locale or self.settings.locale, user.display_name,
                                                user.role, area), status_code=403)
        return None
