"""Helpers for the HTTP benchmarks: start a server process on loopback, drive load at it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(
    args: list[str],
    port: int,
    env: dict[str, str] | None = None,
    health: str = "/healthz",
    log: Path | None = None,
) -> Iterator[str]:
    """``python ARGS`` serving on 127.0.0.1:PORT until the block ends (SIGTERM); its
    standard error goes to ``log`` when given."""
    with open(log or os.devnull, "wb") as errors:
        process = subprocess.Popen(
            [sys.executable, *args],
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + health, timeout=1).status_code < 500:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError(f"server {args} did not start" + (f"; see {log}" if log else ""))
        time.sleep(0.1)
    try:
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class LoadResult:
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    bodies: list[Any] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(self.statuses.values())

    @property
    def rps(self) -> float:
        return self.count / self.seconds

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")


Request = Callable[[int], tuple[str, str, dict[str, Any]]]  # i -> (method, path, json)


async def drive(
    url: str,
    make_request: Request,
    *,
    clients: int,
    seconds: float,
    keep_bodies: Callable[[int, Any], bool] | None = None,
    max_requests: int = 1_000_000,
) -> LoadResult:
    """``clients`` concurrent loops, each sending requests until ``seconds`` have passed."""
    result = LoadResult(seconds=seconds)
    stop_at = time.monotonic() + seconds
    counter = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def loop() -> None:
            nonlocal counter
            while time.monotonic() < stop_at and counter < max_requests:
                counter += 1
                method, path, body = make_request(counter)
                started = time.perf_counter()
                try:
                    response = await client.request(method, path, json=body)
                except httpx.HTTPError as exc:
                    result.errors[type(exc).__name__] += 1
                    continue
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
                result.statuses[response.status_code] += 1
                if keep_bodies is not None and keep_bodies(response.status_code, path):
                    result.bodies.append(response.json())

        begun = time.monotonic()
        await asyncio.gather(*(loop() for _ in range(clients)))
        result.seconds = time.monotonic() - begun
    return result
