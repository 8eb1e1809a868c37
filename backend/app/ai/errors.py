"""Typed errors of the AI layer; callers map them to wire codes and evaluation states."""

from __future__ import annotations


class AIUnavailableError(Exception):
    """The model provider failed, timed out, or returned nothing usable.

    The message is for logs only: it may name the provider's error and must never reach a client.
    """


class EvaluationFailedError(Exception):
    """The model's output could not be turned into a valid evaluation rubric.

    `detail` is plain text that is safe to show HR; it never carries exception text.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
