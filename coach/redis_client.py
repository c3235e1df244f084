"""The one way this project talks to Redis (``COACH_REDIS_URL``): an asyncio client whose
calls give up after ``timeout`` (50 ms by default) without retrying, since every user of
it (shared rate limits, the review cache) has an answer of its own to fall back on."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit


def redacted_url(url: str) -> str:
    """``url`` without its password, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def connect(url: str, timeout: float = 0.05, max_connections: int = 32) -> Any:
    """A ``redis.asyncio.Redis`` with its own connection pool (imported here, on first use)."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        max_connections=max_connections,
        health_check_interval=0,
    )
