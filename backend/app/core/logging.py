"""Logging set-up. Query strings never reach a log line: tokens and tickets ride in them."""

from __future__ import annotations

import logging
import re
import time

import orjson

from app.core import log_context

_QUERY = re.compile(r"\?[^\s\"']*")
_SECRET_PARAM = re.compile(r"((?:token|ticket|access_token)=)[^&\s\"']+", re.IGNORECASE)


def redact(text: str) -> str:
    """Drop query strings from anything that looks like a request line."""
    return _QUERY.sub("?[redacted]", text)


class RedactQueryFilter(logging.Filter):
    """Strips query strings from uvicorn access lines and token params from any record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = _SECRET_PARAM.sub(r"\1[redacted]", record.msg)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request and interview ids."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
            **log_context.current(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


JsonFormatter.converter = time.gmtime

_installed = False


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    global _installed
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("app").setLevel(level)
    if _installed:
        return
    flt = RedactQueryFilter()
    json_formatter = JsonFormatter() if fmt == "json" else None
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error", "app", ""):
        logger = logging.getLogger(name)
        logger.addFilter(flt)
        for handler in logger.handlers:
            handler.addFilter(flt)
            if json_formatter is not None:
                handler.setFormatter(json_formatter)
    _installed = True
