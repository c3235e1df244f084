"""Structured logs: one JSON object per line.

Only the fields named here are written, so a stray ``extra=`` cannot leak a
customer's message; with ``COACH_LOG_TEXT=redacted`` the handlers add the
texts after :func:`coach.redact.redact` has taken personal data out.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

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


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


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
