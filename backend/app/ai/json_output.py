"""Reading JSON out of model replies that wrap it in fences, prose, or both."""

from __future__ import annotations

import json
import math
import re
from typing import Any

_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)```", re.DOTALL)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_FRACTION = re.compile(r"(-?\d+(?:\.\d+)?)\s*(?:/|out of)\s*(\d+(?:\.\d+)?)", re.IGNORECASE)


def _candidates(text: str) -> list[str]:
    stripped = text.strip()
    found = [stripped]
    found.extend(block.strip() for block in _FENCE.findall(text))
    return found


def extract_json_value(text: str) -> Any | None:
    """The first JSON object or array found in `text`: whole, fenced, or embedded in prose."""
    if not text:
        return None
    for candidate in _candidates(text):
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict | list):
            return value
    decoder = json.JSONDecoder()
    for match in re.finditer(r"[{\[]", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(value, dict) or (isinstance(value, list) and value):
            return value
    return None


def extract_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in `text`, or None."""
    value = extract_json_value(text)
    if isinstance(value, dict):
        return value
    if isinstance(value, list):  # a reply wrapped in a one-element list
        for item in value:
            if isinstance(item, dict):
                return item
    return None


def parse_number(value: Any, *, scale: float | None = None) -> float | None:
    """A number from an int, float or text such as "7", "7.5", "7/10", "85%" or "8 out of 10".

    With `scale`, a fraction "a/b" is rescaled to `scale` (e.g. "3/5" with scale 10 gives 6).
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        fraction = _FRACTION.search(value)
        if fraction and scale is not None and float(fraction.group(2)) > 0:
            number = float(fraction.group(1)) / float(fraction.group(2)) * scale
        else:
            match = _NUMBER.search(value)
            if match is None:
                return None
            number = float(match.group())
    else:
        return None
    return number if math.isfinite(number) else None


def clamp_int(number: float, low: int, high: int) -> int:
    return max(low, min(high, round(number)))
