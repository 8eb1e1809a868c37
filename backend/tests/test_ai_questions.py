"""Question drafting with the openai provider (stand-in server)."""

from __future__ import annotations

import json

import pytest

from app.ai.chains.question_chain import draft_questions
from app.ai.errors import AIUnavailableError
from tests.support.ai_samples import JOB_DESCRIPTION, JOB_SKILLS, JOB_TITLE

MODEL_QUESTIONS = [
    "How have you scaled a Python service under load?",
    "Walk me through a PostgreSQL schema migration you ran in production.",
    "How do you debug a pod that keeps restarting in Kubernetes?",
    "Tell me about a code review where you changed your mind.",
]


async def test_prompt_is_job_aware_and_asks_for_json(standin):
    standin.control(replies=[json.dumps({"questions": MODEL_QUESTIONS})])
    assert await draft_questions(JOB_TITLE, JOB_DESCRIPTION, JOB_SKILLS, 4) == MODEL_QUESTIONS
    [request] = standin.requests()
    body = request["body"]
    assert body["response_format"] == {"type": "json_object"}
    prompt = "\n".join(m["content"] for m in body["messages"])
    assert JOB_TITLE in prompt and JOB_DESCRIPTION in prompt
    assert all(skill in prompt for skill in JOB_SKILLS)
    assert "Write 4 interview questions" in prompt


async def test_extra_questions_are_trimmed_to_count(standin):
    standin.control(replies=[json.dumps({"questions": MODEL_QUESTIONS})])
    assert await draft_questions(JOB_TITLE, JOB_DESCRIPTION, JOB_SKILLS, 2) == MODEL_QUESTIONS[:2]


async def test_fewer_questions_are_padded_from_templates(standin):
    questions = await draft_questions(JOB_TITLE, JOB_DESCRIPTION, JOB_SKILLS, 5)
    # the stand-in drafts three by default
    assert questions[:3] == [
        "Tell me about a project you are proud of.",
        "How do you approach debugging a production issue?",
        "Describe how you work with teammates on a code review.",
    ]
    assert len(questions) == 5
    assert len({q.lower() for q in questions}) == 5
    assert JOB_TITLE in questions[3]  # the first template: background and the role


async def test_fenced_numbered_duplicated_questions_are_cleaned(standin):
    payload = {
        "questions": [
            "1. " + MODEL_QUESTIONS[0],
            "  " + MODEL_QUESTIONS[0].upper() + "  ",
            {"question": MODEL_QUESTIONS[1]},
            "",
            '"' + MODEL_QUESTIONS[2] + '"',
        ]
    }
    standin.control(replies=["Here you go:\n```json\n" + json.dumps(payload) + "\n```"])
    questions = await draft_questions(JOB_TITLE, JOB_DESCRIPTION, JOB_SKILLS, 3)
    assert questions == MODEL_QUESTIONS[:3]


async def test_a_plain_numbered_list_is_understood(standin):
    reply = "Sure! Here are some:\n" + "\n".join(
        f"{i}. {q}" for i, q in enumerate(MODEL_QUESTIONS, start=1)
    )
    standin.control(replies=[reply])
    assert await draft_questions(JOB_TITLE, JOB_DESCRIPTION, JOB_SKILLS, 4) == MODEL_QUESTIONS


async def test_unusable_reply_falls_back_to_templates(standin):
    standin.control(replies=['{"answer": 42}'])
    questions = await draft_questions(JOB_TITLE, JOB_DESCRIPTION, JOB_SKILLS, 3)
    assert len(questions) == 3 and len(set(questions)) == 3
    assert JOB_TITLE in questions[0]


async def test_provider_failure_is_unavailable(standin):
    standin.control(mode="fail")
    with pytest.raises(AIUnavailableError):
        await draft_questions(JOB_TITLE, JOB_DESCRIPTION, JOB_SKILLS, 3)


async def test_zero_questions_asks_nothing(standin):
    assert await draft_questions(JOB_TITLE, JOB_DESCRIPTION, JOB_SKILLS, 0) == []
    assert standin.requests() == []
