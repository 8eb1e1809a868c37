"""Typed errors that services raise; `app.main` maps each to its HTTP status in one handler.

Each carries the status it means on the REST surface, so the WebSocket layer can map the
same classes to close codes (404 -> 4002, 403 -> 4004, 409 -> 4003) without string matching.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A refusal a caller can act on; `detail` is safe to show to the user."""

    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequestError(ServiceError):
    status_code = 400


class NotFoundError(ServiceError):
    status_code = 404


class ForbiddenError(ServiceError):
    status_code = 403


class ConflictError(ServiceError):
    status_code = 409


class PayloadTooLargeError(ServiceError):
    status_code = 413


class UnsupportedMediaTypeError(ServiceError):
    status_code = 415


class UnprocessableError(ServiceError):
    status_code = 422


class TooManyRequestsError(ServiceError):
    status_code = 429


class UnavailableError(ServiceError):
    status_code = 503
