"""API keys and per-key rate limits.

Keys come from ``COACH_API_KEYS``; only their SHA-256 digests are kept in
memory, and a presented key is compared against every digest with
``hmac.compare_digest`` (constant time, no early exit on the first match).
A key is sent as ``Authorization: Bearer <key>`` (what OpenAI clients send)
or ``X-API-Key: <key>``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from dataclasses import dataclass
from typing import Literal, Protocol


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def key_id(key_digest: bytes) -> str:
    """A short public id of a key for logs and feedback rows (not reversible)."""
    return key_digest.hex()[:12]


class KeyRing:
    def __init__(self, keys: list[str]) -> None:
        self._digests = tuple(digest(k) for k in keys if k)

    @property
    def open(self) -> bool:
        return not self._digests

    def match(self, presented: str | None) -> bytes | None:
        """The digest of the presented key when it is one of ours, else None."""
        if presented is None:
            return None
        candidate = digest(presented)
        found = None
        for known in self._digests:
            if hmac.compare_digest(candidate, known):
                found = known
        return found


def presented_key(authorization: str | None, x_api_key: str | None) -> str | None:
    if x_api_key:
        return x_api_key.strip()
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return None


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per caller: ``per_minute`` sustained, bursts up to the same number."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.rate = per_minute / 60.0
        self.capacity = float(max(per_minute, 1))
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, caller: str) -> float | None:
        """None when allowed; otherwise the seconds to wait before the next try."""
        if self.per_minute <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(caller)
            if bucket is None:
                bucket = self._buckets[caller] = _Bucket(self.capacity, now)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            return (1.0 - bucket.tokens) / self.rate

    # The face every limiter shows the app (``api.shared_limits.SharedRateLimiter`` too).
    async def acquire(self, caller: str) -> float | None:
        return self.take(caller)

    async def ping(self) -> Literal["off", "up", "down"]:
        """This process's own buckets: no Redis (``/readyz`` says ``"redis": "off"``)."""
        return "off"

    async def close(self) -> None:
        return None


class Limiter(Protocol):
    """What the app needs of a rate limiter: ``RateLimiter`` or ``SharedRateLimiter``."""

    per_minute: int

    async def acquire(self, caller: str) -> float | None: ...

    async def ping(self) -> Literal["off", "up", "down"]: ...

    async def close(self) -> None: ...


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
