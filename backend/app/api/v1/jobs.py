"""POST /jobs, GET /jobs (and GET /jobs/{id})."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlmodel import col, select

from app.core.dependencies import ReaderUser, SessionDep, StaffUser
from app.models import Job
from app.schemas.common import PathId
from app.schemas.job import JobCreate, JobPublic

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_job(body: JobCreate, actor: StaffUser, session: SessionDep) -> JobPublic:
    job = Job(**body.model_dump(), created_by=actor.id)
    session.add(job)
    await session.commit()
    return JobPublic.model_validate(job)


@router.get("")
async def list_jobs(_: ReaderUser, session: SessionDep) -> list[JobPublic]:
    jobs = (await session.exec(select(Job).order_by(col(Job.id).desc()))).all()
    return [JobPublic.model_validate(j) for j in jobs]


@router.get("/{job_id}")
async def get_job(job_id: PathId, _: ReaderUser, session: SessionDep) -> JobPublic:
    job = await session.get(Job, job_id)
    if job is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Job not found")
    return JobPublic.model_validate(job)
