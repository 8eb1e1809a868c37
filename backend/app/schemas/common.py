"""Field types shared by the request models: e-mail addresses and trimmed, non-empty text."""

from __future__ import annotations

from typing import Annotated

import email_validator
from pydantic import AfterValidator, StringConstraints


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
