"""Shared fixtures: a fake OpenAI-compatible server on 127.0.0.1 (real HTTP for litellm)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from coach.fake_llm import FakeLLM


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
