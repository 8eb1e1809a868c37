"""Every v1 route module, wired in one place."""

from fastapi import APIRouter

from app.api.v1 import auth, candidates, health, interviews, jobs, users, websocket

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(auth.router)
api_router.include_router(users.router)
api_router.include_router(candidates.router)
api_router.include_router(jobs.router)
api_router.include_router(interviews.router)
api_router.include_router(websocket.router)
