"""The one way this project talks to Redis (``COACH_REDIS_URL``): an asyncio client whose
calls give up after ``timeout`` (50 ms by default) without retrying, since every user of
it (shared rate limits, the review cache) has an answer of its own to fall back on."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

log = logging.getLogger("coach.redis")


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


class Outage:
    """Whether Redis is answering, for one user of it (``what``: the rate limits, the
    review cache). An outage starts at the first failed call and is logged once; while it
    lasts, ``skip`` lets a call through at most every ``retry_every`` seconds, so an
    outage costs one timeout a second, not one per request; the first answer ends it
    (logged too). ``on_change`` hears True when Redis answers again, False when it stops."""

    def __init__(
        self,
        url: str,
        what: str,
        retry_every: float = 1.0,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self.url = redacted_url(url)
        self.what = what
        self.retry_every = retry_every
        self.on_change = on_change
        self.since: float | None = None
        self._next_try = 0.0

    @property
    def down(self) -> bool:
        return self.since is not None

    def skip(self, now: float) -> bool:
        """Whether to leave Redis alone for now (an outage, and not yet time to retry)."""
        return self.since is not None and now < self._next_try

    def failed(self, exc: BaseException, now: float) -> None:
        self._next_try = now + self.retry_every
        if self.since is None:
            self.since = now
            log.warning(
                "redis at %s does not answer (%s: %s): %s are this process's own until it does",
                self.url,
                type(exc).__name__,
                exc,
                self.what,
            )
            if self.on_change is not None:
                self.on_change(False)

    def answered(self, now: float) -> None:
        if self.since is not None:
            log.warning(
                "redis at %s answers again after %.1f s: %s are shared again",
                self.url,
                now - self.since,
                self.what,
            )
            self.since = None
            if self.on_change is not None:
                self.on_change(True)
