"""App factory and lifespan: settings, database, Redis, AI provider, background services."""

from __future__ import annotations

import gc
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.ai import local_llm
from app.ai.openai_client import warm_openai_client
from app.api.v1 import API_V1_PREFIX
from app.api.v1.router import api_router
from app.api.v1.websocket import socket_app
from app.core import log_context, metrics
from app.core.config import get_settings
from app.core.database import dispose_database, init_database
from app.core.logging import configure_logging
from app.core.redis import close_redis, init_redis
from app.core.security import reset_signing_key, signing_key
from app.services import lifecycle
from app.services.errors import ServiceError

logger = logging.getLogger("app")

GC_THRESHOLDS = (10_000, 20, 100)
FRONTEND_DIST = Path(__file__).resolve().parents[2] / "frontend" / "dist"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    configure_logging(settings.LOG_LEVEL, settings.LOG_FORMAT)
    reset_signing_key()
    signing_key(settings)  # refuse to start without a usable SECRET_KEY
    init_database(settings)
    init_redis(settings.REDIS_URL)
    await lifecycle.startup(settings)
    await local_llm.detect(settings)  # the server of `make local-ai`, when nothing else is set
    warm_openai_client()  # not in the first AI turn, on the loop under the first sockets
    logger.info(
        "HireEz ready: database=%s redis=%s ai_provider=%s evaluation=%s",
        "sqlite" if settings.is_sqlite else "postgresql",
        "in-process" if settings.redis_in_process else "redis",
        local_llm.describe_provider(settings),
        settings.evaluation_backend,
    )
    # Everything made so far (modules, the ORM's mappers, the app) lives as long as the process:
    # out of the collector's sight, a full collection scans only what came after. And young
    # collections every 10,000 allocations instead of 700, so that the short-lived objects of a
    # streamed reply die by reference count before a collection can promote them, and full
    # collections (a pause of the whole loop: 50-140 ms each, the p99 of `make bench` at
    # K = 100) come rarely instead of every few seconds.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.unfreeze()
        await lifecycle.shutdown()
        await close_redis()
        await dispose_database()


def _validation_detail(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg")))
    return "; ".join(parts) or "Invalid request"


class HireEzApp(FastAPI):
    """The interview sockets go straight to their own ASGI route (app/api/v1/websocket.py);
    everything else through FastAPI."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and await socket_app(scope, receive, send):
            return
        await super().__call__(scope, receive, send)


def create_app() -> FastAPI:
    settings = get_settings()
    app = HireEzApp(
        title="HireEz API",
        version="1.0.0",
        openapi_url="/api/v1/openapi.json",
        docs_url="/docs",
        lifespan=lifespan,
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.CORS_ORIGINS,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
    )

    @app.exception_handler(RequestValidationError)
    async def _on_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            content={"detail": _validation_detail(exc)},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _on_http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code,
            content={"detail": exc.detail},
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(ServiceError)
    async def _on_service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail})

    @app.exception_handler(Exception)
    async def _on_error(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(status_code=500, content={"detail": "Internal server error"})

    app.add_middleware(RequestIdMiddleware)

    @app.get("/metrics", include_in_schema=False)
    async def _metrics() -> Response:
        body, content_type = metrics.render()
        return Response(content=body, media_type=content_type)

    app.include_router(api_router, prefix=API_V1_PREFIX)
    _mount_frontend(app)
    return app


class RequestIdMiddleware:
    """Every HTTP request gets a request id (the client's `X-Request-ID` or a new one) that
    its log lines carry and its response echoes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"")[:64].decode("latin-1")
        rid = given if given.isprintable() and given else secrets.token_hex(8)
        log_context.bind(request_id=rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", rid.encode()))
            await send(message)

        await self.app(scope, receive, send_with_id)


def _mount_frontend(app: FastAPI) -> None:
    """Serve the built single-page app, when there is one, for every non-API path."""
    index = FRONTEND_DIST / "index.html"

    @app.get("/{path:path}", include_in_schema=False, response_model=None)
    async def _spa(path: str) -> FileResponse | JSONResponse:
        if path.startswith("api/") or not index.exists():
            return JSONResponse(status_code=404, content={"detail": "Not Found"})
        candidate = (FRONTEND_DIST / path).resolve()
        if path and candidate.is_file() and FRONTEND_DIST.resolve() in candidate.parents:
            return FileResponse(candidate)
        return FileResponse(index)


app = create_app()
