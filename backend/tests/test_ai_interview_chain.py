"""The interview chain with the openai provider (stand-in server): prompts and rails."""

from __future__ import annotations

import pytest

from app.ai.chains.interview_chain import get_interview_response, stream_interview_response
from app.ai.errors import AIUnavailableError
from tests.support.ai_samples import (
    CANDIDATE,
    JOB_DESCRIPTION,
    JOB_SKILLS,
    JOB_TITLE,
    QUESTIONS,
    RESUME,
    closing_plan,
    follow_up_plan,
    greeting_plan,
    make_ctx,
    next_question_plan,
)

HISTORY = [
    {"role": "ai", "content": f"Hello Ada! {QUESTIONS[0]}"},
    {"role": "candidate", "content": "Six years of Python backends, mostly payments."},
]


async def collect(stream) -> list[str]:
    return [piece async for piece in stream]


def system_prompt(request: dict) -> str:
    messages = request["body"]["messages"]
    assert messages[0]["role"] == "system"
    return messages[0]["content"]


async def test_greeting_prompt_has_question_resume_and_job(standin):
    standin.control(replies=[f"Hello {CANDIDATE}, welcome! {QUESTIONS[0]}"])
    pieces = await collect(stream_interview_response(make_ctx(), greeting_plan()))
    assert "".join(pieces) == f"Hello {CANDIDATE}, welcome! {QUESTIONS[0]}"
    [request] = standin.requests()
    assert request["body"]["stream"] is True
    prompt = system_prompt(request)
    for expected in (QUESTIONS[0], RESUME, JOB_TITLE, JOB_DESCRIPTION, CANDIDATE, *JOB_SKILLS):
        assert expected in prompt
    assert "Greet" in prompt
    # strict chat templates want a user turn after the system prompt
    assert [m["role"] for m in request["body"]["messages"]] == ["system", "user"]


async def test_response_prompt_carries_history_and_the_next_question(standin):
    ctx = make_ctx(HISTORY)
    plan = next_question_plan(1, HISTORY[-1]["content"])
    await get_interview_response(ctx, plan)
    [request] = standin.requests()
    messages = request["body"]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[2]["content"] == HISTORY[0]["content"]
    assert messages[3]["content"] == HISTORY[1]["content"]
    prompt = system_prompt(request)
    assert f'"{QUESTIONS[1]}"' in prompt.split("This turn:")[1]  # the question to ask now
    assert f"1. {QUESTIONS[0]} [already asked]" in prompt  # never asked again
    assert RESUME in prompt and JOB_DESCRIPTION in prompt


async def test_candidate_message_missing_from_history_is_still_sent(standin):
    ctx = make_ctx(HISTORY[:1])
    await get_interview_response(ctx, next_question_plan(1, "I like queues."))
    messages = standin.requests()[0]["body"]["messages"]
    assert messages[-1] == {"role": "user", "content": "I like queues."}


async def test_follow_up_prompt_probes_the_same_question(standin):
    ctx = make_ctx(HISTORY)
    await get_interview_response(ctx, follow_up_plan(0, "Python."))
    turn = system_prompt(standin.requests()[0]).split("This turn:")[1]
    assert QUESTIONS[0] in turn
    assert QUESTIONS[1] not in turn
    assert "follow-up" in turn


async def test_a_reply_without_a_question_gets_the_planned_question_appended(standin):
    standin.control(replies=["Thanks, that is clear.", "Thanks, that is clear."])
    plan = next_question_plan(2, "We use Postgres.")
    pieces = await collect(stream_interview_response(make_ctx(HISTORY), plan))
    assert pieces[-1] == "\n\n" + QUESTIONS[2]
    assert "".join(pieces) == "Thanks, that is clear.\n\n" + QUESTIONS[2]
    text = await get_interview_response(make_ctx(HISTORY), plan)
    assert text == "Thanks, that is clear.\n\n" + QUESTIONS[2]


async def test_a_reply_that_asks_is_left_alone(standin):
    reply = "Thanks. How do you roll out changes to your clusters?"
    standin.control(replies=[reply])
    pieces = await collect(stream_interview_response(make_ctx(HISTORY), next_question_plan(2, "x")))
    assert "".join(pieces) == reply


async def test_closing_asks_nothing_even_if_the_model_does(standin):
    reply = "Thank you, Ada, for your time. Do you have any questions for me? HR will be in touch."
    standin.control(replies=[reply, reply])
    text = "".join(await collect(stream_interview_response(make_ctx(HISTORY), closing_plan())))
    assert "?" not in text
    assert text.startswith("Thank you, Ada, for your time.")
    assert "HR will be in touch." in text
    assert "This turn:" in system_prompt(standin.requests()[0])
    assert "?" not in await get_interview_response(make_ctx(HISTORY), closing_plan())


async def test_closing_made_only_of_questions_falls_back_to_a_polite_closing(standin):
    standin.control(replies=["Any questions? Anything else?"])
    stream = stream_interview_response(make_ctx(HISTORY), closing_plan("time_up"))
    text = "".join(await collect(stream))
    assert "?" not in text
    assert "Thank you" in text and "HR team" in text


async def test_closing_prompt_has_no_question_to_ask(standin):
    await get_interview_response(make_ctx(HISTORY), closing_plan("ended", answer=None))
    request = standin.requests()[0]
    turn = system_prompt(request).split("This turn:")[1]
    assert "Do not ask any question" in turn
    assert all(q not in turn for q in QUESTIONS)
    assert request["body"]["messages"][-1]["role"] == "user"  # the model answers a user turn


async def test_provider_failure_mid_stream_raises_after_partial_pieces(standin):
    standin.control(mode="fail_mid_stream", fail_after=2, replies=["one two three four?"])
    received: list[str] = []
    with pytest.raises(AIUnavailableError):
        async for piece in stream_interview_response(make_ctx(), greeting_plan()):
            received.append(piece)
    assert "".join(received) == "one two "


async def test_provider_failure_is_unavailable(standin):
    standin.control(mode="fail", times=2)
    with pytest.raises(AIUnavailableError):
        await collect(stream_interview_response(make_ctx(), greeting_plan()))
    with pytest.raises(AIUnavailableError):
        await get_interview_response(make_ctx(), greeting_plan())
