"""POST /v1/check is answered as plain ASGI (api/hot.py), ahead of FastAPI's stack.

The FastAPI route stays registered (it documents the endpoint); these tests
send the same requests, over real HTTP, to a server whose POST /v1/check goes
through the hot path and to one that serves FastAPI's stack alone (the route),
and require the same status, JSON body and headers from both, for good
requests and every kind of bad one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import running_server  # type: ignore[import-not-found]
from starlette.types import Receive, Scope, Send

from api import create_app
from api.hot import HotCheck, is_json
from coach.settings import CoachSettings

KEY = "hot-path-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
JSON = {"Content-Type": "application/json"}
LONG = "x" * 20_001

# (name, headers, body): every request goes to both servers.
CASES: list[tuple[str, dict[str, str], bytes]] = [
    ("violating", {**AUTH, **JSON}, b'{"text": "Calm down, it is on its way.", "language": "en"}'),
    (
        "clean",
        {**AUTH, **JSON},
        b'{"text": "Thanks for waiting, it ships today.", "language": "en"}',
    ),
    (
        "allowed commitment",
        {**AUTH, **JSON},
        json.dumps(
            {
                "text": "I guarantee a refund by Friday.",
                "language": "en",
                "context": {"allowed_commitments": ["refund"]},
            }
        ).encode(),
    ),
    (
        "short with hint",
        {**AUTH, **JSON},
        b'{"text": "Calmez-vous !", "hint_language": "fr"}',
    ),
    (
        "short with customer message",
        {**AUTH, **JSON},
        json.dumps(
            {"text": "Sakin olun.", "customer_message": "Siparişim hâlâ gelmedi, çok kızgınım!"}
        ).encode(),
    ),
    ("detected", {**AUTH, **JSON}, b'{"text": "Rauhoittukaa nyt, asia hoituu."}'),
    ("unsupported language", {**AUTH, **JSON}, b'{"text": "Calm down.", "language": "xx"}'),
    ("language tag", {**AUTH, **JSON}, b'{"text": "Calm down.", "language": "en-GB"}'),
    ("not a language", {**AUTH, **JSON}, b'{"text": "Calm down.", "language": "!!"}'),
    ("charset", {**AUTH, "Content-Type": "application/json; charset=utf-8"}, b'{"text": "hi"}'),
    ("+json", {**AUTH, "Content-Type": "application/vnd.coach+json"}, b'{"text": "hi"}'),
    ("upper-case type", {**AUTH, "Content-Type": "Application/JSON"}, b'{"text": "hi"}'),
    ("text/plain", {**AUTH, "Content-Type": "text/plain"}, b'{"text": "hi"}'),
    ("no content type", AUTH, b'{"text": "hi"}'),
    ("not JSON", {**AUTH, **JSON}, b'{"text": "hi"'),
    ("empty body", {**AUTH, **JSON}, b""),
    ("not UTF-8", {**AUTH, **JSON}, b'{"text": "\xff\xfe"}'),
    ("array", {**AUTH, **JSON}, b'["hi"]'),
    ("null", {**AUTH, **JSON}, b"null"),
    ("missing text", {**AUTH, **JSON}, b'{"language": "en"}'),
    ("empty text", {**AUTH, **JSON}, b'{"text": ""}'),
    ("text too long", {**AUTH, **JSON}, json.dumps({"text": LONG}).encode()),
    ("text a number", {**AUTH, **JSON}, b'{"text": 12}'),
    ("NaN", {**AUTH, **JSON}, b'{"text": NaN}'),
    ("unknown field", {**AUTH, **JSON}, b'{"text": "hi", "draft": "x"}'),
    ("bad context", {**AUTH, **JSON}, b'{"text": "hi", "context": {"allowed_commitments": 3}}'),
    ("many errors", {**AUTH, **JSON}, b'{"text": 1, "language": 2, "hint_language": 3, "x": 4}'),
    ("no key", JSON, b'{"text": "hi"}'),
    ("wrong key", {"Authorization": "Bearer nope", **JSON}, b'{"text": "hi"}'),
    ("basic auth", {"Authorization": "Basic eDp5", **JSON}, b'{"text": "hi"}'),
    ("x-api-key", {"X-API-Key": KEY, **JSON}, b'{"text": "hi"}'),
    # FastAPI reads the JSON before it asks who is calling, and validates after.
    ("no key, not JSON", JSON, b'{"text": '),
    ("no key, invalid", JSON, b'{"texts": "hi"}'),
]
COMPARED_HEADERS = ("content-type", "www-authenticate", "retry-after")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(hot path, FastAPI route): two servers with the same settings and their own stores."""
    tmp: Path = tmp_path_factory.mktemp("hot")

    def settings(name: str) -> CoachSettings:
        return CoachSettings(
            database_url=f"sqlite:///{tmp / name}.db",
            api_keys=[KEY],
            rate_limit_per_minute=0,
        )

    route_only = create_app(settings("route"))
    with (
        running_server(settings("hot")) as hot,
        running_server(settings("route"), app=route_only.fastapi) as route,
    ):
        yield hot, route


def _answer(response: httpx.Response) -> tuple[int, object, dict[str, str]]:
    headers = {h: response.headers[h] for h in COMPARED_HEADERS if h in response.headers}
    return response.status_code, response.json(), headers


@pytest.mark.parametrize(("name", "headers", "body"), CASES, ids=[c[0] for c in CASES])
def test_same_answer_as_the_fastapi_route(
    servers: tuple[str, str], name: str, headers: dict[str, str], body: bytes
) -> None:
    hot_url, route_url = servers
    hot = httpx.post(f"{hot_url}/v1/check", content=body, headers=headers)
    route = httpx.post(f"{route_url}/v1/check", content=body, headers=headers)
    assert _answer(hot) == _answer(route)
    assert hot.headers["content-length"] == str(len(hot.content))
    assert len(hot.headers["x-request-id"]) == 32  # the outer layer ran (not on `route`)
    if hot.status_code >= 400:
        assert set(hot.json()) == {"error"}, hot.json()


def test_the_cases_cover_every_kind_of_answer(servers: tuple[str, str]) -> None:
    hot_url, _ = servers
    statuses = {
        httpx.post(f"{hot_url}/v1/check", content=body, headers=headers).status_code
        for _, headers, body in CASES
    }
    assert statuses == {200, 400, 401, 422}
    codes = {
        httpx.post(f"{hot_url}/v1/check", content=body, headers=headers)
        .json()
        .get("error", {})
        .get("code")
        for _, headers, body in CASES
    }
    assert {"invalid_json", "invalid_input", "unauthorized", "bad_request"} <= codes


def test_rate_limit_and_chunked_body_over_the_limit(tmp_path: Path) -> None:
    def settings(name: str) -> CoachSettings:
        return CoachSettings(
            database_url=f"sqlite:///{tmp_path / name}.db",
            api_keys=[KEY],
            rate_limit_per_minute=2,
            max_body_bytes=1024,
        )

    with (
        running_server(settings("hot")) as hot_url,
        running_server(settings("route"), app=create_app(settings("route")).fastapi) as route_url,
    ):
        answers = []
        for url in (hot_url, route_url):
            answers.append(
                [
                    _answer(httpx.post(f"{url}/v1/check", json={"text": "hi"}, headers=AUTH))
                    for _ in range(3)
                ]
            )
        assert answers[0] == answers[1]
        assert [a[0] for a in answers[0]] == [200, 200, 429]
        assert answers[0][2][2]["retry-after"].isdigit()

        # A chunked body (no Content-Length) over the limit: 413 from the outer layer.
        def chunks() -> Iterator[bytes]:
            yield b'{"text": "'
            yield b"x" * 2000
            yield b'"}'

        big = httpx.post(f"{hot_url}/v1/check", content=chunks(), headers={**AUTH, **JSON})
        assert big.status_code == 413
        assert big.json()["error"]["code"] == "body_too_large"


def test_cors_headers_on_the_hot_path(db_url: str) -> None:
    settings = CoachSettings(database_url=db_url, cors_origins=["https://helpdesk.example"])
    with running_server(settings) as url:
        allowed = httpx.post(
            f"{url}/v1/check",
            json={"text": "Calm down.", "language": "en"},
            headers={"Origin": "https://helpdesk.example"},
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://helpdesk.example"
        assert "x-request-id" in allowed.headers["access-control-expose-headers"].lower()


def test_access_log_and_metrics_name_the_route(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with running_server(CoachSettings(database_url=db_url)) as url:
        with caplog.at_level("INFO", logger="coach.api.access"):
            sent = httpx.post(
                f"{url}/v1/check",
                json={"text": "Calm down.", "language": "en"},
                headers={"X-Request-ID": "hot-path-1"},
            )
        metrics = httpx.get(f"{url}/metrics").text
    assert sent.headers["x-request-id"] == "hot-path-1"
    lines = [r for r in caplog.records if getattr(r, "request_id", None) == "hot-path-1"]
    assert len(lines) == 1
    line = lines[0].__dict__
    assert (line["route"], line["status"], line["language"], line["passed"]) == (
        "/v1/check",
        200,
        "en",
        False,
    )
    assert line["violations"] >= 1 and line["key"].startswith("addr:")
    assert 'coach_http_requests_total{method="POST",route="/v1/check",status="200"} 1.0' in metrics
    assert (
        'coach_violations_total{category="dismissive",severity="block",source="check"}' in metrics
    )


def test_only_post_to_the_exact_path_takes_the_hot_path(tmp_path: Path) -> None:
    """Everything else reaches FastAPI: other methods (405), other paths, a trailing slash."""
    app = create_app(CoachSettings(database_url=f"sqlite:///{tmp_path / 'c.db'}"))
    reached: list[tuple[str, str]] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append((scope["method"], scope["path"]))
        await app.fastapi(scope, receive, send)

    route = next(r for r in app.routes if getattr(r, "path", None) == "/v1/check")
    hot = HotCheck(inner, app, route)  # type: ignore[arg-type]

    async def run() -> list[int]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=hot)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                statuses = [
                    (await client.post("/v1/check", json={"text": "hi"})).status_code,
                    (await client.get("/v1/check")).status_code,
                    (await client.post("/v1/check/", json={"text": "hi"})).status_code,
                    (await client.post("/v1/coach", json={})).status_code,
                ]
            # Behind a proxy that serves the API under a prefix (uvicorn --root-path).
            mounted = httpx.ASGITransport(app=hot, root_path="/coach")
            async with httpx.AsyncClient(transport=mounted, base_url="http://t") as client:
                answer = await client.post("/coach/v1/check", json={"text": "hi"})
                statuses.append(answer.status_code)
            return statuses

    statuses = asyncio.run(run())
    assert statuses == [200, 405, statuses[2], 422, 200]
    assert statuses[2] in (307, 404)  # FastAPI's own answer to the trailing slash
    assert ("POST", "/v1/check") not in reached
    assert reached[:3] == [("GET", "/v1/check"), ("POST", "/v1/check/"), ("POST", "/v1/coach")]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("APPLICATION/JSON", True),
        ("application/problem+json", True),
        (" application/json ;q=1", True),
        ("application/jsonx", False),
        ("text/json", False),
        ("application", False),
        ("", False),
        (None, False),
    ],
)
def test_json_content_types_as_fastapi_reads_them(value: str | None, expected: bool) -> None:
    assert is_json(value) is expected


class _BrokenRules:
    """A rule set whose check fails as a bug would: the languages load, the check raises."""

    def __init__(self, real: object) -> None:
        self.real = real

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)

    def check(self, *args: object, **kwargs: object) -> object:
        raise RuntimeError("secret internals 0xdeadbeef")


def test_an_unexpected_error_is_a_500_envelope_without_the_trace(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from coach.pipeline import Coach

    settings = CoachSettings(database_url=db_url)
    coach = Coach(settings)
    app = create_app(settings, coach=coach)
    with running_server(settings, app=app) as url:
        coach.ruleset = _BrokenRules(coach.ruleset)  # type: ignore[assignment]
        with caplog.at_level("ERROR", logger="coach.api"):
            broken = httpx.post(
                f"{url}/v1/check",
                json={"text": "Calm down.", "language": "en"},
                headers={"X-Request-ID": "broken-1"},
            )
    assert broken.status_code == 500
    error = broken.json()["error"]
    assert error["code"] == "internal_error" and "broken-1" in error["message"]
    assert "0xdeadbeef" not in broken.text and "Traceback" not in broken.text
    logged = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert logged and logged[0].exc_info is not None
    assert getattr(logged[0], "request_id", None) == "broken-1"
