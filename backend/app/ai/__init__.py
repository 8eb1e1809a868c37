"""The AI layer: every model call goes through the `openai` SDK, or the offline provider.

- `openai_client`: `get_openai_client()`, `chat_completion()`, `chat_completion_stream()`;
  bounded by AI_TIMEOUT_SEC / AI_MAX_RETRIES, failures raised as `errors.AIUnavailableError`.
- `chains.interview_chain`: phrases the turn the conductor planned (`stream_interview_response`,
  `get_interview_response`) with rails in code: the planned question is always asked, a closing
  never asks anything.
- `chains.evaluation_chain`: `evaluate_interview()`, a JSON rubric read tolerantly (one repair
  request, then `errors.EvaluationFailedError`), or the offline heuristic.
- `chains.question_chain`: `draft_questions()` for a job, padded from templates.
- `offline`: the provider used when LLM_PROVIDER=offline (the default without a key or base
  URL): scripted interviewer paced at OFFLINE_WORDS_PER_SEC, heuristic scores, template questions.
- `prompts/`: every prompt text, resume- and job-aware.
"""
