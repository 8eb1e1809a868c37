"""The offline provider: scripted interviewer, heuristic evaluation, template questions."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from app.ai.chains.evaluation_chain import evaluate_interview
from app.ai.chains.interview_chain import get_interview_response, stream_interview_response
from app.ai.chains.question_chain import draft_questions
from tests.support.ai_samples import (
    CANDIDATE,
    JOB_SKILLS,
    JOB_TITLE,
    QUESTIONS,
    STRONG_ANSWERS,
    WEAK_ANSWERS,
    closing_plan,
    follow_up_plan,
    greeting_plan,
    make_ctx,
    make_eval_input,
    next_question_plan,
)


@pytest.fixture(autouse=True)
def offline(settings_env):
    return settings_env(LLM_PROVIDER="offline", OFFLINE_WORDS_PER_SEC="0")


async def stream_text(ctx, plan) -> str:
    return "".join([piece async for piece in stream_interview_response(ctx, plan)])


async def test_greeting_names_candidate_and_role_and_asks_question_zero(standin):
    text = await stream_text(make_ctx(), greeting_plan())
    assert CANDIDATE in text
    assert JOB_TITLE in text
    assert text.endswith(QUESTIONS[0])
    assert QUESTIONS[1] not in text
    assert standin.requests() == []  # no model, no network


async def test_streams_word_by_word_and_matches_the_whole_reply():
    ctx, plan = make_ctx(), greeting_plan()
    pieces = [piece async for piece in stream_interview_response(ctx, plan)]
    text = "".join(pieces)
    assert len(pieces) == len(text.split())
    assert text == await get_interview_response(ctx, plan)


async def test_follow_up_differs_from_moving_on():
    history = [{"role": "ai", "content": "Hello! " + QUESTIONS[0]}]
    answer = "Python mostly."
    probe = await stream_text(make_ctx(history), follow_up_plan(0, answer))
    moving_on = await stream_text(make_ctx(history), next_question_plan(1, answer))
    assert probe != moving_on
    assert "?" in probe
    assert QUESTIONS[1] not in probe  # a follow-up stays on the same question
    assert QUESTIONS[1] in moving_on


async def test_consecutive_acknowledgements_differ_and_are_deterministic():
    history: list[dict[str, str]] = []
    replies = []
    text = await stream_text(make_ctx(history), greeting_plan())
    history.append({"role": "ai", "content": text})
    answers = ["I built payment systems in Python for six years at a bank."] * 6
    for turn, answer in enumerate(answers):
        index = min(turn + 1, len(QUESTIONS) - 1)
        history.append({"role": "candidate", "content": answer})
        plan = next_question_plan(index, answer)
        reply = await stream_text(make_ctx(history), plan)
        assert reply == await stream_text(make_ctx(history), plan)  # deterministic
        replies.append(reply)
        history.append({"role": "ai", "content": reply})
    openings = [r.split(".")[0] for r in replies]
    assert all(a != b for a, b in itertools.pairwise(openings))
    assert len(set(openings)) >= 3  # varied, not alternating between two phrases


async def test_an_acknowledgement_is_never_reused_on_the_next_turn():
    # many different conversations: a hash-only choice would collide in some of them
    for k in range(40):
        history = [{"role": "ai", "content": "Hello! " + QUESTIONS[0]}]
        openings = []
        for turn in range(2):
            answer = f"Answer {k}-{turn}: I worked with Python services for several years."
            history.append({"role": "candidate", "content": answer})
            reply = await stream_text(make_ctx(history), next_question_plan(turn + 1, answer))
            history.append({"role": "ai", "content": reply})
            openings.append(reply.split(".")[0])
        assert openings[0] != openings[1], k


async def test_closing_is_polite_and_asks_nothing():
    for reason in ("all_answered", "time_up", "ended"):
        text = await stream_text(make_ctx(), closing_plan(reason))
        assert "?" not in text
        assert "Thank you" in text and "HR team" in text
        assert all(q not in text for q in QUESTIONS)


async def test_pacing_follows_offline_words_per_sec(settings_env):
    settings_env(LLM_PROVIDER="offline", OFFLINE_WORDS_PER_SEC="40")
    start = time.monotonic()
    pieces = [piece async for piece in stream_interview_response(make_ctx(), greeting_plan())]
    elapsed = time.monotonic() - start
    expected = (len(pieces) - 1) / 40
    assert len(pieces) > 10
    assert expected * 0.9 <= elapsed <= expected + 1.0


async def test_a_late_reader_gets_every_word_due_by_then_in_one_piece(settings_env):
    """Like a model's stream read late, the words keep their pace from the reply's start."""
    whole = await stream_text(make_ctx(), greeting_plan())
    settings_env(LLM_PROVIDER="offline", OFFLINE_WORDS_PER_SEC="100")
    stream = stream_interview_response(make_ctx(), greeting_plan())
    first = await anext(stream)
    await asyncio.sleep(0.1)  # ~10 words fall due meanwhile
    second = await anext(stream)
    rest = [piece async for piece in stream]
    assert len(first.split()) == 1
    assert len(second.split()) >= 5  # not one word each, 1/100 s after the reader came back
    assert "".join([first, second, *rest]) == whole


async def test_no_delay_when_words_per_sec_is_zero():
    start = time.monotonic()
    await stream_text(make_ctx(), greeting_plan())
    assert time.monotonic() - start < 0.2


async def test_heuristic_evaluation_ranks_better_answers_higher(standin):
    strong = await evaluate_interview(make_eval_input(STRONG_ANSWERS))
    weak = await evaluate_interview(make_eval_input(WEAK_ANSWERS))
    assert strong.method == weak.method == "heuristic"
    assert strong.overall_score > weak.overall_score
    assert [q.question_id for q in strong.question_scores] == [11, 12, 13]
    for result in (strong, weak):
        assert 0 <= result.overall_score <= 100
        assert all(0 <= q.score <= 10 and q.comment for q in result.question_scores)
    for good, bad in zip(strong.question_scores, weak.question_scores, strict=True):
        assert good.score > bad.score
    assert strong.recommendation in ("hire", "strong_hire")
    assert weak.recommendation == "strong_no_hire"
    assert "heuristic" in strong.summary.lower()
    assert "Python" in strong.summary and "PostgreSQL" in strong.summary
    assert standin.requests() == []


async def test_heuristic_scores_an_unanswered_question_zero():
    result = await evaluate_interview(make_eval_input([STRONG_ANSWERS[0], "", "   "]))
    assert [q.score for q in result.question_scores][1:] == [0, 0]
    assert result.question_scores[0].score > 0


async def test_heuristic_credits_examples_figures_and_skills():
    plain = "I work on backend services and I like to keep things tidy and well organised."
    rich = plain + " For example, I reduced Python job runtime by 40% on PostgreSQL."
    result = await evaluate_interview(make_eval_input([plain, rich, plain]))
    assert result.question_scores[1].score > result.question_scores[0].score


async def test_offline_questions_come_from_title_and_skills(standin):
    questions = await draft_questions(JOB_TITLE, "desc", JOB_SKILLS, 5)
    assert len(questions) == 5
    assert len({q.lower() for q in questions}) == 5
    assert JOB_TITLE in questions[0]
    for skill in JOB_SKILLS:
        assert any(skill in q for q in questions)
    assert standin.requests() == []


@pytest.mark.parametrize("count", [0, 1, 2, 12, 30])
async def test_offline_questions_give_exactly_count(count):
    questions = await draft_questions(JOB_TITLE, "", JOB_SKILLS, count)
    assert len(questions) == count
    assert len(set(questions)) == count
