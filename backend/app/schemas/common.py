"""Field types shared by the request models: e-mail addresses, trimmed non-empty text, and
the ids of rows (in a body, and in a route's path)."""

from __future__ import annotations

from typing import Annotated

import email_validator
from fastapi import Path
from pydantic import AfterValidator, Field, StringConstraints

from app.models import MAX_ID


def _email(value: str) -> str:
    # Syntax only: no DNS lookups, and test/internal domains (e.g. `.test`) are allowed.
    try:
        result = email_validator.validate_email(
            value,
            check_deliverability=False,
            globally_deliverable=False,
            test_environment=True,
        )
    except email_validator.EmailNotValidError as exc:
        raise ValueError(f"not a valid e-mail address ({exc})") from exc
    return result.normalized.lower()


EmailAddress = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=320),
    AfterValidator(_email),
]
"""An e-mail address, stored and compared lower-case."""

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]


RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
"""A row's id in a request body: ids are INTEGER columns, and asyncpg refuses a larger value
outright (a DataError, not an empty result), so one is a 422 here."""

PathId = Annotated[int, Path(le=MAX_ID)]
"""A row's id in a route's path (`/interviews/{interview_id}`): past the column's range a
422, as for `RowId`; any other id that names no row stays a 404."""
