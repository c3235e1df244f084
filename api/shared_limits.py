"""Rate limits shared by every replica through Redis (``COACH_REDIS_URL``).

Each caller (an API key's id, or a digest of the client address when the API is open)
has one token bucket in Redis, ``coach:rl:<caller>``, updated by a Lua script: Redis
runs a script alone, so two replicas taking from one bucket at the same moment cannot
both read the old count (no read-modify-write race). The script reads the clock of the
Redis server, not the replicas', so replicas whose clocks differ still agree on the
refill. A bucket left alone expires once it would be full again.

Redis is a helper, never a door that can lock: when it does not answer within
``timeout`` (50 ms) the request is limited by this process's own buckets instead
(``api.security.RateLimiter``) and served; the outage is logged once, counted in
``coach_redis_failures_total``, shown by ``coach_redis_up`` and by ``/readyz``
(``"redis": "down"``). While Redis is down a request tries it again at most every
``retry_every`` seconds, so an outage costs one timeout a second, not one per request;
the first answer after that ends the outage (logged) and the shared buckets count again.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Literal

from api.security import RateLimiter
from coach.redis_client import Outage, connect

if TYPE_CHECKING:
    from api.metrics import Metrics

KEY_PREFIX = "coach:rl:"

# KEYS[1]: the bucket; ARGV[1]: tokens per second; ARGV[2]: capacity.
# Returns "0" when a token was taken, else the seconds until one is there (as a string:
# Redis turns a Lua number into an integer).
TAKE = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(saved[1]) or capacity
local updated = tonumber(saved[2]) or now
if now > updated then
  tokens = math.min(capacity, tokens + (now - updated) * rate)
end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1000)
return tostring(wait)
"""

RedisState = Literal["off", "up", "down"]


class SharedRateLimiter:
    """Token buckets in Redis, with this process's own buckets standing in while Redis
    does not answer. ``acquire`` has the same meaning as ``RateLimiter.take``."""

    def __init__(
        self,
        url: str,
        per_minute: int,
        metrics: Metrics | None = None,
        *,
        timeout: float = 0.05,
        retry_every: float = 1.0,
        max_connections: int = 32,
    ) -> None:
        self.per_minute = per_minute
        self.local = RateLimiter(per_minute)  # its rate and capacity are the shared bucket's too
        self.metrics = metrics
        self.timeout = timeout
        self.outage = Outage(url, "rate limits", retry_every, self._set_gauge)
        # One pool per process; no retries inside the client: a failed call falls back
        # at once, and the next try waits for ``retry_every``.
        self.client: Any = connect(url, timeout, max_connections)
        self._take = self.client.register_script(TAKE)
        self._set_gauge(True)

    @property
    def state(self) -> RedisState:
        return "down" if self.outage.down else "up"

    async def acquire(self, caller: str) -> float | None:
        """None when allowed; otherwise the seconds to wait before the next try."""
        if self.per_minute <= 0:
            return None
        now = time.monotonic()
        if self.outage.skip(now):
            return self.local.take(caller)
        try:
            async with asyncio.timeout(self.timeout * 2):
                answer = await self._take(
                    keys=[KEY_PREFIX + caller], args=[self.local.rate, self.local.capacity]
                )
        except Exception as exc:  # redis errors, socket errors, the timeout: fail open
            self._failed(exc, now)
            return self.local.take(caller)
        self.outage.answered(now)
        wait = float(answer)
        return wait if wait > 0 else None

    async def ping(self) -> RedisState:
        """Ask Redis now (``/readyz``); the answer also ends or starts an outage."""
        now = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout * 2):
                await self.client.ping()
        except Exception as exc:
            self._failed(exc, now)
        else:
            self.outage.answered(now)
        return self.state

    async def close(self) -> None:
        await self.client.aclose()

    def _failed(self, exc: BaseException, now: float) -> None:
        if self.metrics is not None:
            self.metrics.redis_failures.inc()
        self.outage.failed(exc, now)

    def _set_gauge(self, up: bool) -> None:
        if self.metrics is not None:
            self.metrics.redis_up.set(1 if up else 0)
