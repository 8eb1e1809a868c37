"""Interviews: create, list, read, cancel, transcript, evaluation, recording upload."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status

from app.core.config import get_settings
from app.core.dependencies import CurrentUser, ReaderUser, RedisDep, SessionDep, StaffUser
from app.schemas.common import PathId
from app.schemas.interview import (
    EvaluationPending,
    EvaluationPublic,
    InterviewCreate,
    InterviewPublic,
    RecordingPublic,
    TranscriptTurnPublic,
)
from app.services import interview_service, recording_service
from app.services.evaluation_service import queue_evaluation
from app.services.interview_session import drop_session
from app.services.ws_connection_manager import CLOSE_INVALID_STATE, get_manager

router = APIRouter(prefix="/interviews", tags=["interviews"])

_RECORDING_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        404: {"description": "Unknown job or candidate"},
        503: {"description": "No questions given and the AI could not draft them"},
    },
)
async def create_interview(
    body: InterviewCreate, actor: StaffUser, session: SessionDep, redis: RedisDep
) -> InterviewPublic:
    """Schedule an interview. Without `questions`, the AI drafts `DEFAULT_QUESTION_COUNT`
    of them from the job's title, description and skills."""
    interview = await interview_service.create_interview(session, body, actor, get_settings())
    await session.commit()
    return (await interview_service.to_public(session, redis, [interview], actor))[0]


@router.get("")
async def list_interviews(
    user: CurrentUser, session: SessionDep, redis: RedisDep
) -> list[InterviewPublic]:
    """Newest first: every interview for staff and interviewers, a candidate's own for them."""
    interviews = await interview_service.list_for(session, user)
    return await interview_service.to_public(session, redis, interviews, user)


@router.get("/{interview_id}")
async def get_interview(
    interview_id: PathId, user: CurrentUser, session: SessionDep, redis: RedisDep
) -> InterviewPublic:
    """`connected` is true while the candidate's socket is live (on any process)."""
    interview = await interview_service.get_readable(session, user, interview_id)
    return (await interview_service.to_public(session, redis, [interview], user))[0]


@router.post("/{interview_id}/cancel", responses={409: {"description": "Already ended"}})
async def cancel_interview(
    interview_id: PathId, actor: StaffUser, session: SessionDep, redis: RedisDep
) -> InterviewPublic:
    interview = await interview_service.cancel(session, interview_id)
    await session.commit()
    await drop_session(interview_id)
    await get_manager().shut_interview(
        interview_id, CLOSE_INVALID_STATE, "The interview was cancelled"
    )
    return (await interview_service.to_public(session, redis, [interview], actor))[0]


@router.get("/{interview_id}/transcript")
async def get_transcript(
    interview_id: PathId, user: CurrentUser, session: SessionDep
) -> list[TranscriptTurnPublic]:
    await interview_service.get_readable(session, user, interview_id)
    turns = await interview_service.transcript(session, interview_id)
    return [TranscriptTurnPublic.model_validate(t) for t in turns]


@router.get(
    "/{interview_id}/evaluation",
    response_model=EvaluationPublic,
    responses={
        202: {"model": EvaluationPending, "description": "The evaluation is being made"},
        404: {"description": "The interview has not ended, or has no evaluation"},
    },
)
async def get_evaluation(
    interview_id: PathId, _: ReaderUser, session: SessionDep, response: Response
) -> Any:
    view = await interview_service.evaluation_view(session, interview_id)
    if isinstance(view, EvaluationPending):
        response.status_code = status.HTTP_202_ACCEPTED
    return view


@router.post(
    "/{interview_id}/evaluation",
    status_code=status.HTTP_202_ACCEPTED,
    responses={409: {"description": "The interview is not completed"}},
)
async def rerun_evaluation(
    interview_id: PathId, _: StaffUser, session: SessionDep
) -> EvaluationPending:
    """Make the evaluation (again): it turns `pending`, then `done` or `failed`."""
    await interview_service.check_evaluable(session, interview_id)
    await queue_evaluation(interview_id)
    return EvaluationPending()


@router.post(
    "/{interview_id}/recording",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_RECORDING_BODY,
    responses={
        413: {"description": "Larger than MAX_RECORDING_MB"},
        415: {"description": "Not video/webm, audio/webm, video/mp4 or audio/mp4"},
    },
)
async def upload_recording(
    interview_id: PathId, request: Request, user: CurrentUser, session: SessionDep
) -> RecordingPublic:
    """The candidate's recording as multipart field `file`, streamed to disk (never held in
    memory); refused with 413 as soon as it passes `MAX_RECORDING_MB`."""
    settings = get_settings()
    interview = await interview_service.get_owned(session, user, interview_id)
    recording = await recording_service.save_recording(
        session,
        interview,
        request.headers,
        request.stream(),
        settings.DATA_DIR,
        settings.max_recording_bytes,
    )
    try:
        await session.commit()
    except BaseException:
        recording_service.discard(recording, settings.DATA_DIR)
        raise
    assert recording.id is not None
    return RecordingPublic(recording_id=recording.id, bytes=recording.bytes)
