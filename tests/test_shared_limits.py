"""Rate limits and the review cache shared through a real Redis (Debian's redis-server on a
free loopback port) by real servers: one limit for all replicas, an outage that serves on,
and the recovery."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest
from conftest import free_port, running_server, serve
from fake_openai_server import FakeLLM

from api.security import digest, key_id
from api.shared_limits import KEY_PREFIX
from coach.redis_client import redacted_url
from coach.settings import CoachSettings

KEY = "k-shared"
AUTH = {"Authorization": f"Bearer {KEY}"}
BODY = {"text": "Thanks for waiting, your parcel ships today.", "language": "en"}


class RedisServer:
    """``redis-server`` without persistence on a fixed loopback port: stop and start it again
    to play an outage."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while not self.answers():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def bucket(self, key: str) -> dict[str, str]:
        import redis

        client = redis.Redis.from_url(self.url, decode_responses=True)
        try:
            found = client.hgetall(KEY_PREFIX + key_id(digest(key)))
            return {str(k): str(v) for k, v in found.items()}
        finally:
            client.close()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("COACH_REQUIRE_REDIS"):
            pytest.fail("COACH_REQUIRE_REDIS is set but redis-server is not installed")
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server)")
    server = RedisServer(binary, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _replica(
    tmp_path: Path, name: str, redis_url: str, per_minute: int
) -> AbstractContextManager[tuple[str, subprocess.Popen[str], Path]]:
    folder = tmp_path / name
    folder.mkdir()
    return serve(
        folder,
        COACH_REDIS_URL=redis_url,
        COACH_API_KEYS=f"{KEY},k-other",
        COACH_RATE_LIMIT_PER_MINUTE=str(per_minute),
    )


def test_two_replicas_enforce_one_limit(tmp_path: Path, redis_server: RedisServer) -> None:
    with (
        _replica(tmp_path, "a", redis_server.url, 20) as (url_a, _pa, _la),
        _replica(tmp_path, "b", redis_server.url, 20) as (url_b, _pb, _lb),
        httpx.Client(timeout=30) as client,
    ):
        for url in (url_a, url_b):
            ready = client.get(f"{url}/readyz").json()
            assert ready["redis"] == "up"
        started = time.monotonic()
        answers = [
            client.post(f"{(url_a, url_b)[i % 2]}/v1/check", json=BODY, headers=AUTH)
            for i in range(60)
        ]
        elapsed = time.monotonic() - started
        allowed = sum(1 for r in answers if r.status_code == 200)
        refilled = int(elapsed / 3) + 1  # 20 a minute: one token every 3 s
        # Each replica alone would allow 20 (40 together, as measured before Redis).
        assert 20 <= allowed <= 20 + refilled, (allowed, elapsed)
        limited = [r for r in answers if r.status_code == 429]
        assert len(limited) == 60 - allowed
        assert {r.json()["error"]["code"] for r in limited} == {"rate_limited"}
        assert all(1 <= int(r.headers["Retry-After"]) <= 3 for r in limited)
        # both replicas said no, each from the shared bucket
        assert {str(r.url).split("/v1")[0] for r in limited} == {url_a, url_b}
        # another key has a bucket of its own
        other = client.post(f"{url_b}/v1/check", json=BODY, headers={"X-API-Key": "k-other"})
        assert other.status_code == 200
        assert float(redis_server.bucket(KEY)["tokens"]) < 1.0


def test_an_outage_serves_on_with_local_limits_and_recovers(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    with (
        _replica(tmp_path, "a", redis_server.url, 5) as (url, _process, log),
        httpx.Client(timeout=30) as client,
    ):

        def post() -> int:
            return client.post(f"{url}/v1/check", json=BODY, headers=AUTH).status_code

        assert [post() for _ in range(6)] == [200] * 5 + [429]  # the shared bucket
        assert float(redis_server.bucket(KEY)["tokens"]) < 1.0

        redis_server.stop()
        # Served on: this process's own bucket (full) limits alone, still 5 a minute.
        assert [post() for _ in range(6)] == [200] * 5 + [429]
        ready = client.get(f"{url}/readyz")
        assert ready.status_code == 200 and ready.json()["redis"] == "down"
        metrics = client.get(f"{url}/metrics").text
        failures = next(
            float(line.split()[-1])
            for line in metrics.splitlines()
            if line.startswith("coach_redis_failures_total ")
        )
        assert failures >= 1
        assert "coach_redis_up 0.0" in metrics
        assert log.read_text().count("does not answer") == 1  # once per outage

        redis_server.start()  # empty: it kept nothing
        deadline = time.monotonic() + 10
        while client.get(f"{url}/readyz").json()["redis"] != "up":
            assert time.monotonic() < deadline, "the server did not see Redis come back"
            time.sleep(0.2)
        assert "answers again" in log.read_text()
        assert "coach_redis_up 1.0" in client.get(f"{url}/metrics").text
        # Shared again: the request takes its token from Redis's (new) bucket.
        assert post() == 200
        assert float(redis_server.bucket(KEY)["tokens"]) == pytest.approx(4.0, abs=0.1)
        text = log.read_text()
        assert f":{redis_server.port}" in text and "Traceback" not in text


def test_a_password_never_reaches_the_logs() -> None:
    assert redacted_url("redis://:s3cret@cache:6379/0") == "redis://:***@cache:6379/0"
    assert redacted_url("redis://app:s3cret@cache/1") == "redis://app:***@cache/1"
    assert redacted_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_replicas_share_the_review_cache_and_review_on_without_redis(
    tmp_path: Path, redis_server: RedisServer, fake_llm: FakeLLM
) -> None:
    from test_review import CATEGORY, QUOTE, REASON, TEXT, findings, is_review

    fake_llm.responder = lambda r: findings(
        {"category": CATEGORY, "quote": QUOTE, "reason": REASON}
    )

    def replica(name: str) -> CoachSettings:
        return CoachSettings(
            database_url=f"sqlite:///{tmp_path / name}.db",
            model="openai/reviewer",
            api_base=fake_llm.base_url,
            api_key="sk-test",
            max_retries=0,
            redis_url=redis_server.url,
        )

    def review(url: str, text: str) -> list[dict[str, object]]:
        reply = httpx.post(
            f"{url}/v1/check", json={"language": "en", "text": text, "review": True}, timeout=30
        )
        assert reply.status_code == 200
        return [v for v in reply.json()["violations"] if v["source"] == "llm"]

    with running_server(replica("a")) as url_a, running_server(replica("b")) as url_b:
        first = review(url_a, TEXT)
        assert len(first) == 1 and len([r for r in fake_llm.requests if is_review(r)]) == 1
        # the other replica never asked for this text: Redis has the answer
        assert review(url_b, TEXT) == first
        assert len([r for r in fake_llm.requests if is_review(r)]) == 1
        import redis

        client = redis.Redis.from_url(redis_server.url, decode_responses=True)
        keys = client.keys("coach:review:*")
        assert len(keys) == 1 and 0 < client.ttl(keys[0]) <= 86_400
        assert TEXT not in keys[0]
        client.close()

        redis_server.stop()
        other = TEXT.replace("difference", "difference today")
        assert len(review(url_b, other)) == 1  # the model is asked, the review goes on
        assert len([r for r in fake_llm.requests if is_review(r)]) == 2
        assert review(url_b, other) == review(url_b, other)  # the process's own cache
        assert len([r for r in fake_llm.requests if is_review(r)]) == 2


def _check_requests(metrics_text: str) -> float:
    """``coach_http_requests_total`` of ``POST /v1/check`` answered 200, in a scrape."""
    return sum(
        float(line.split()[-1])
        for line in metrics_text.splitlines()
        if line.startswith("coach_http_requests_total{")
        and 'route="/v1/check"' in line
        and 'status="200"' in line
    )


def _served_by_pid(folder: Path) -> dict[str, float]:
    """Per worker (pid), its own count of answered checks, from its metric files alone."""
    import tempfile

    from prometheus_client import CollectorRegistry, generate_latest, multiprocess

    pids = {p.stem.rsplit("_", 1)[1] for p in folder.glob("counter_*.db")}
    out = {}
    for pid in pids:
        with tempfile.TemporaryDirectory() as alone:
            for f in folder.glob(f"*_{pid}.db"):
                shutil.copy(f, alone)
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=alone)
            out[pid] = _check_requests(generate_latest(registry).decode())
    return out


def test_metrics_of_two_workers_add_up_on_either(tmp_path: Path) -> None:
    """``coach serve --workers 2``: each worker counts into the shared folder, and a scrape
    answered by either reports the requests both served."""
    from concurrent.futures import ThreadPoolExecutor

    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_99999.db").write_bytes(b"stale")  # an earlier run's: emptied at start
    with serve(
        tmp_path,
        "--workers",
        "2",
        PROMETHEUS_MULTIPROC_DIR=str(folder),
        COACH_RATE_LIMIT_PER_MINUTE="0",
    ) as (
        url,
        _process,
        _log,
    ):

        def post(_: int) -> int:
            # a new connection each time: the kernel hands it to either worker
            return httpx.post(f"{url}/v1/check", json=BODY, timeout=30).status_code

        sent = 0
        with ThreadPoolExecutor(8) as pool:
            while sent < 800:
                assert set(pool.map(post, range(40))) == {200}
                sent += 40
                served = _served_by_pid(folder)
                if len([n for n in served.values() if n > 0]) >= 2:
                    break
        # a worker counts a request as its response goes out, so the last few may land a
        # moment after the client has its answer
        deadline = time.monotonic() + 5
        while sum(served.values()) < sent and time.monotonic() < deadline:
            time.sleep(0.05)
            served = _served_by_pid(folder)
        assert len([n for n in served.values() if n > 0]) == 2, served
        assert sum(served.values()) == sent
        for _ in range(10):  # whichever worker answers the scrape
            assert _check_requests(httpx.get(f"{url}/metrics", timeout=30).text) == sent
