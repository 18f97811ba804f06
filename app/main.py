"""create_app(): routers, error handlers, upload limits, web UI."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from app.config import get_settings
from app.csrf import CrossSiteProtection
from app.errors import AppError

log = logging.getLogger(__name__)


def _error(status: int, name: str, detail: object) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": name, "detail": detail})


class BodyLimit:
    """Refuse request bodies over the limit while they stream in, before they are stored whole."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        received, exceeded, started = 0, False, False

        async def limited() -> dict:  # type: ignore[type-arg]
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded(message: dict) -> None:  # type: ignore[type-arg]
            # Body parsers turn any read error into their own 400; the real answer is 413.
            nonlocal started
            if exceeded and not started:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, guarded)
        except _TooLarge:
            pass
        if exceeded and not started:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = _error(
            413,
            "PayloadTooLarge",
            f"Request body over the limit of {self.max_bytes:,} bytes; "
            "split the recording or raise TALKTRACK_MAX_UPLOAD_BYTES.",
        )
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


def create_app() -> FastAPI:
    settings = get_settings()
    app = FastAPI(
        title="Talktrack",
        version="0.1.0",
        description="Conversation intelligence and coaching for B2B sales teams.",
    )

    @app.exception_handler(AppError)
    def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        return _error(exc.status_code, exc.name, exc.message)

    @app.exception_handler(RequestValidationError)
    def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        return _error(422, "ValidationError", problems)

    @app.exception_handler(StarletteHTTPException)
    def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, "HTTPError", exc.detail)

    @app.exception_handler(DBAPIError)
    def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        # A dropped or restarting database is transient: say so (503 + Retry-After), not a bare 500.
        if exc.connection_invalidated or isinstance(exc, OperationalError):
            log.warning("request.database_unavailable path=%s error=%s", request.url.path, type(exc.orig).__name__)
            response = _error(503, "DatabaseUnavailable", "The database is briefly unavailable; retry shortly.")
            response.headers["Retry-After"] = "1"
            return response
        if isinstance(exc, DataError):
            return _error(422, "ValidationError", "A value is out of range for the database; send a smaller one.")
        if isinstance(exc, IntegrityError):
            # A uniqueness or reference rule the service did not check first: a conflict, not a crash.
            log.warning("request.integrity_error path=%s error=%s", request.url.path, exc.orig)
            return _error(409, "Conflict", "The request conflicts with existing data (duplicate or missing reference).")
        log.error("request.failed path=%s", request.url.path, exc_info=exc)
        return _error(500, "InternalError", "Unexpected error; it has been logged.")

    @app.exception_handler(PoolTimeout)
    def _pool_timeout(request: Request, _exc: PoolTimeout) -> JSONResponse:
        # Every pooled connection stayed busy for pool_timeout: overloaded, not broken.
        log.warning("request.database_busy path=%s", request.url.path)
        response = _error(503, "DatabaseBusy", "The database is busy; retry shortly.")
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(OverflowError)
    def _overflow(_request: Request, _exc: OverflowError) -> JSONResponse:
        # SQLite raises this for integers beyond 64 bits (e.g. /calls/99999999999999999999).
        return _error(422, "ValidationError", "A number is too large; ids and counts fit in 64 bits.")

    @app.exception_handler(Exception)
    def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request.failed path=%s", request.url.path)
        return _error(500, "InternalError", "Unexpected error; it has been logged.")

    from app.calls.router import router as calls_router
    from app.transcripts.router import router as transcripts_router
    from app.users.router import router as users_router

    for router in (users_router, calls_router, transcripts_router):
        app.include_router(router)
    _include_optional(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes + 1024 * 1024)
    # Added last, so it runs first: a forged request is refused before its body is read.
    app.add_middleware(CrossSiteProtection, trusted_origins=settings.trusted_origin_list)
    return app


def _include_optional(app: FastAPI) -> None:
    """Routers of domains that register themselves in app/routers.py."""
    from app.routers import ROUTERS

    for module_name in ROUTERS:
        module = __import__(module_name, fromlist=["router"])
        app.include_router(module.router)
