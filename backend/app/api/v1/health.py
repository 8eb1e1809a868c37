"""GET /health: the database and Redis, each checked for real."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.core.database import session_factory
from app.core.redis import get_redis

router = APIRouter(tags=["health"])
logger = logging.getLogger("app.health")


@router.get("/health")
async def health() -> JSONResponse:
    result = {"status": "ok", "database": "ok", "redis": "ok"}
    try:
        async with session_factory()() as session:
            await session.execute(text("SELECT 1"))
    except Exception:  # any driver error means "down"; the detail goes to the log only
        logger.warning("health: database check failed", exc_info=True)
        result["database"] = "down"
    try:
        await get_redis().ping()
    except Exception:
        logger.warning("health: redis check failed", exc_info=True)
        result["redis"] = "down"
    if result["database"] != "ok" or result["redis"] != "ok":
        result["status"] = "degraded"
        return JSONResponse(status_code=503, content=result)
    return JSONResponse(content=result)
