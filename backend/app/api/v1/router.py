"""Every v1 REST route module, wired in one place (the sockets: app/api/v1/websocket.py,
entered from app/main.py)."""

from fastapi import APIRouter

from app.api.v1 import auth, candidates, health, interviews, jobs, users

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(auth.router)
api_router.include_router(users.router)
api_router.include_router(candidates.router)
api_router.include_router(jobs.router)
api_router.include_router(interviews.router)
