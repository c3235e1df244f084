"""Shared fixtures: a fake OpenAI-compatible server on 127.0.0.1 (real HTTP for litellm)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest
from fake_openai_server import FakeLLM

# The pack cache (rules/packcache.py) of this test session starts empty, so the session
# compiles every built-in pattern once (and checks it) and then exercises the cached
# path too; the subprocesses the tests start inherit it. Nothing is written to ~/.cache.
os.environ.setdefault("COACH_CACHE_DIR", tempfile.mkdtemp(prefix="coach-test-cache-"))


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.fixture
def fake_llm(fake_llm_server: FakeLLM) -> Iterator[FakeLLM]:
    """The shared server, with an empty script and request log for each test."""
    fake_llm_server.reset()
    fake_llm_server.responder = FakeLLM().responder
    yield fake_llm_server
    fake_llm_server.reset()


# --- a real uvicorn server on 127.0.0.1 -------------------------------------

import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from starlette.types import ASGIApp  # noqa: E402

from api import create_app  # noqa: E402
from coach.settings import CoachSettings  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(settings: CoachSettings, app: ASGIApp | None = None) -> Iterator[str]:
    """The app (``create_app(settings)`` unless given) under a real uvicorn server in a
    thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app or create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        interface="asgi3",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    # a hang guard, not a speed test: start-up compiles every pack (about 10 s on 2 cores)
    deadline = time.monotonic() + 300
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'coach.db'}"


@pytest.fixture
def api_url(db_url: str) -> Iterator[str]:
    """An open API (no keys) with the rules coach and a fresh SQLite store."""
    with running_server(CoachSettings(database_url=db_url)) as url:
        yield url


# --- `coach serve` as an operator runs it, in a subprocess ---------------------


@contextmanager
def serve(
    tmp_path: Path, *args: str, **env: str
) -> Iterator[tuple[str, subprocess.Popen[str], Path]]:
    """``coach serve`` on a free port with a fresh SQLite store (``env`` on top of ours);
    yields its URL, the process and its log file, and stops it with SIGTERM."""
    port = free_port()
    log = tmp_path / "server.log"
    environment = {**os.environ, "COACH_DATABASE_URL": f"sqlite:///{tmp_path / 'coach.db'}", **env}
    with log.open("w") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "coach.cli",
                "serve",
                "--port",
                str(port),
                "--graceful-timeout",
                "20",
                *args,
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
            env=environment,
        )
        url = f"http://127.0.0.1:{port}"
        # a hang guard: start-up compiles every pack (slow on a busy machine)
        deadline = time.monotonic() + 240
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("coach serve did not start:\n" + log.read_text())
            time.sleep(0.1)
        try:
            yield url, process, log
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
