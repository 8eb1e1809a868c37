"""The evaluation chain with the openai provider (stand-in server): prompt, tolerant parsing."""

from __future__ import annotations

import json

import pytest

from app.ai.chains.evaluation_chain import evaluate_interview
from app.ai.errors import AIUnavailableError, EvaluationFailedError
from tests.support.ai_samples import (
    JOB_DESCRIPTION,
    JOB_TITLE,
    QUESTIONS,
    RESUME,
    STRONG_ANSWERS,
    make_eval_input,
)

INPUT = make_eval_input(STRONG_ANSWERS)


def rubric(**overrides) -> dict:
    data = {
        "overall_score": 81,
        "recommendation": "strong_hire",
        "summary": "Deep, concrete answers.",
        "question_scores": [
            {"question_id": 11, "score": 8, "comment": "Clear."},
            {"question_id": 12, "score": 9, "comment": "Great incident story."},
            {"question_id": 13, "score": 7, "comment": "Good."},
        ],
    }
    data.update(overrides)
    return data


async def test_clean_json_from_the_model(standin):
    result = await evaluate_interview(INPUT)  # the stand-in echoes the ids from the prompt
    assert result.method == "llm"
    assert result.overall_score == 72
    assert result.recommendation == "hire"
    assert result.summary == "Solid answers with concrete examples."
    assert [(q.question_id, q.score) for q in result.question_scores] == [(11, 7), (12, 7), (13, 7)]
    [request] = standin.requests()
    body = request["body"]
    assert body["response_format"] == {"type": "json_object"}
    prompt = "\n".join(m["content"] for m in body["messages"])
    for qid, question, answer in zip((11, 12, 13), QUESTIONS, STRONG_ANSWERS, strict=True):
        assert f"question_id={qid}" in prompt
        assert question in prompt and answer in prompt
    assert RESUME in prompt and JOB_TITLE in prompt and JOB_DESCRIPTION in prompt


async def test_fenced_json_with_prose_around_it(standin):
    reply = "Here is my evaluation:\n```json\n" + json.dumps(rubric()) + "\n```\nHope it helps!"
    standin.control(replies=[reply])
    result = await evaluate_interview(INPUT)
    assert result.overall_score == 81
    assert result.recommendation == "strong_hire"
    assert [q.score for q in result.question_scores] == [8, 9, 7]
    assert result.question_scores[1].comment == "Great incident story."
    assert len(standin.requests()) == 1


async def test_json_embedded_in_prose_without_fences(standin):
    standin.control(replies=["Sure. " + json.dumps(rubric(overall_score=64)) + " Done."])
    result = await evaluate_interview(INPUT)
    assert result.overall_score == 64


async def test_string_and_float_scores_are_read_and_clamped(standin):
    data = rubric(
        overall_score="85%",
        question_scores=[
            {"question_id": "11", "score": "8/10", "comment": "ok"},
            {"question_id": 12, "score": 7.6, "comment": "ok"},
            {"question_id": 13, "score": "14", "comment": "ok"},
        ],
    )
    standin.control(replies=[json.dumps(data)])
    result = await evaluate_interview(INPUT)
    assert result.overall_score == 85
    assert [q.score for q in result.question_scores] == [8, 8, 10]


async def test_out_of_range_overall_is_clamped(standin):
    standin.control(replies=[json.dumps(rubric(overall_score=140))])
    assert (await evaluate_interview(INPUT)).overall_score == 100


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("Strong Hire", "strong_hire"),
        ("HIRE", "hire"),
        ("no-hire", "no_hire"),
        ("Not recommended", "no_hire"),
        ("strongly reject", "strong_no_hire"),
        ("Strong No Hire", "strong_no_hire"),
        ("maybe", "strong_hire"),  # unrecognised: derived from overall_score 81
    ],
)
async def test_recommendation_wording_is_mapped(standin, said, expected):
    standin.control(replies=[json.dumps(rubric(recommendation=said))])
    assert (await evaluate_interview(INPUT)).recommendation == expected


async def test_missing_fields_are_filled_in(standin):
    data = {"question_scores": [{"question_id": 11, "score": 6}, {"question_id": 12, "score": 4}]}
    standin.control(replies=[json.dumps(data)])
    result = await evaluate_interview(INPUT)
    assert result.overall_score == 50  # ten times the mean of the scores given
    assert result.recommendation == "no_hire"
    assert result.summary  # a plain placeholder, never empty
    scores = {q.question_id: (q.score, q.comment) for q in result.question_scores}
    assert scores[11][0] == 6 and scores[12][0] == 4
    assert scores[13] == (0, "Not assessed by the model.")


async def test_unknown_question_ids_are_dropped(standin):
    data = rubric(
        question_scores=[
            {"question_id": 999, "score": 10, "comment": "invented"},
            {"question_id": 12, "score": 9, "comment": "real"},
        ]
    )
    standin.control(replies=[json.dumps(data)])
    result = await evaluate_interview(INPUT)
    assert [q.question_id for q in result.question_scores] == [11, 12, 13]
    assert [q.score for q in result.question_scores] == [0, 9, 0]


async def test_garbage_twice_fails_after_one_repair_request(standin):
    standin.control(mode="malformed", times=2)
    with pytest.raises(EvaluationFailedError) as info:
        await evaluate_interview(INPUT)
    requests = standin.requests()
    assert len(requests) == 2
    repair = requests[1]["body"]["messages"]
    assert repair[-2]["role"] == "assistant" and "oops" in repair[-2]["content"]
    assert "JSON" in repair[-1]["content"]
    detail = info.value.detail
    assert detail and "Error" not in detail and "oops" not in detail and "{" not in detail


async def test_garbage_once_is_repaired(standin):
    standin.control(mode="malformed", times=1)
    result = await evaluate_interview(INPUT)
    assert result.overall_score == 72
    assert len(standin.requests()) == 2


async def test_json_without_any_score_counts_as_garbage(standin):
    standin.control(replies=['{"summary": "fine"}', "no json at all"])
    with pytest.raises(EvaluationFailedError):
        await evaluate_interview(INPUT)
    assert len(standin.requests()) == 2


async def test_provider_failure_is_unavailable(standin):
    standin.control(mode="fail")
    with pytest.raises(AIUnavailableError):
        await evaluate_interview(INPUT)


async def test_provider_failure_during_repair_is_unavailable(standin):
    standin.control(replies=["not json"], modes=["ok", "fail"])
    with pytest.raises(AIUnavailableError):
        await evaluate_interview(INPUT)
    assert len(standin.requests()) == 2


def test_a_question_never_answered_scores_zero_whatever_the_model_says():
    from app.ai.chains.evaluation_chain import NOT_ANSWERED, parse_evaluation

    inp = make_eval_input([STRONG_ANSWERS[0], "", ""])
    reply = json.dumps(
        {
            "overall_score": 70,
            "recommendation": "hire",
            "summary": "ok",
            "question_scores": [
                {"question_id": q, "score": 7, "comment": "good"} for q in (11, 12, 13)
            ],
        }
    )
    result = parse_evaluation(reply, inp)
    assert result is not None
    assert [(s.score, s.comment) for s in result.question_scores] == [
        (7, "good"),
        (0, NOT_ANSWERED),
        (0, NOT_ANSWERED),
    ]
