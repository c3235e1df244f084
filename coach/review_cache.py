"""Where the LLM review's answers are kept (``coach/review.py``): in this process, and in
Redis as well when ``COACH_REDIS_URL`` is set, so that every replica behind a balancer
reuses one answer instead of paying the model again for the same text.

Keys are SHA-256 digests of (model, prompt version, language, text); values are the
model's findings as JSON (a category, the quoted span of the checked text, a reason),
kept for ``ttl`` seconds (``COACH_REVIEW_CACHE_TTL_S``, a day by default).

Redis is an optimisation here: a call that fails or takes longer than ``timeout``
(50 ms) counts as a miss (or a write skipped), the outage is logged once and the next
try waits ``retry_every`` seconds; the process's own cache goes on working throughout.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from typing import Any

from coach.redis_client import Outage, connect

CACHE_SIZE = 2048
KEY_PREFIX = "coach:review:"


class ReviewCache:
    """An LRU of ``CACHE_SIZE`` answers in this process, over Redis when ``url`` is given."""

    def __init__(
        self,
        url: str | None = None,
        *,
        ttl: int = 86_400,
        timeout: float = 0.05,
        retry_every: float = 1.0,
    ) -> None:
        self._local: OrderedDict[str, list[Any]] = OrderedDict()
        self.ttl = ttl
        self.timeout = timeout
        self.client: Any = None
        self.outage: Outage | None = None
        if url:
            self.client = connect(url, timeout)
            self.outage = Outage(url, "review answers", retry_every)

    async def get(self, key: str) -> list[Any] | None:
        found = self._local.get(key)
        if found is not None:
            self._local.move_to_end(key)
            return found
        raw = await self._call("get", KEY_PREFIX + key)
        if raw is None:
            return None
        try:
            shared = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(shared, list):
            return None
        self._remember(key, shared)
        return shared

    async def set(self, key: str, findings: list[Any]) -> None:
        self._remember(key, findings)
        await self._call("set", KEY_PREFIX + key, json.dumps(findings), ex=self.ttl)

    def _remember(self, key: str, findings: list[Any]) -> None:
        self._local[key] = findings
        self._local.move_to_end(key)
        if len(self._local) > CACHE_SIZE:
            self._local.popitem(last=False)

    async def _call(self, command: str, *args: Any, **kwargs: Any) -> Any:
        if self.client is None or self.outage is None:
            return None
        now = time.monotonic()
        if self.outage.skip(now):
            return None
        try:
            async with asyncio.timeout(self.timeout * 2):
                answer = await getattr(self.client, command)(*args, **kwargs)
        except Exception as exc:  # redis errors, socket errors, the timeout: a miss
            self.outage.failed(exc, now)
            return None
        self.outage.answered(now)
        return answer

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()
