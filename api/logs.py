"""Structured logs: one JSON object per line.

Lines are compact JSON (``{"ts":"...","level":"info",...}``, UTF-8, no
spaces), made with orjson. Only the fields named here are written, so a stray ``extra=`` cannot leak a
customer's message; with ``COACH_LOG_TEXT=redacted`` the handlers add the
texts after :func:`coach.redact.redact` has taken personal data out.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import orjson

FIELDS = (
    "request_id",
    "method",
    "route",
    "status",
    "ms",
    "key",
    "language",
    "passed",
    "violations",
    "model",
    "degraded",
    "channel",
    "emotion",
    "risk",
    "action",
    "feedback_id",
    "text",
    "customer_message",
    "draft",
)


_json_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _encode(entry: dict[str, Any]) -> str:
    # orjson: a fifth of the json module's cost per access-log line.
    try:
        return orjson.dumps(entry).decode()
    except TypeError:  # what orjson does not take (an int over 64 bits, ...): as json writes it
        return _json_encode(entry)


class JsonFormatter(logging.Formatter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The timestamp up to its second, made once a second rather than once a line.
        self._second: tuple[int, str] = (-1, "")

    def _timestamp(self, created: float) -> str:
        # As datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds"):
        # microseconds rounded half to even, then cut to milliseconds.
        second = int(created)
        micro = round((created - second) * 1e6)
        if micro >= 1_000_000:
            second, micro = second + 1, micro - 1_000_000
        cached, text = self._second
        if cached != second:
            text = datetime.fromtimestamp(second, UTC).isoformat()[:19]
            self._second = (second, text)
        return f"{text}.{micro // 1000:03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self._timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        given = record.__dict__
        for name in FIELDS:
            value = given.get(name)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return _encode(entry)


def log_config(level: str = "info") -> dict[str, Any]:
    """A logging dictConfig for uvicorn and the app: JSON to stderr, uvicorn's access log off."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    upper = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "api.logs.JsonFormatter"}},
        "handlers": {"default": handler},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": upper, "propagate": False},
            "uvicorn.error": {"handlers": ["default"], "level": upper, "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "coach": {"handlers": ["default"], "level": upper, "propagate": False},
        },
    }
