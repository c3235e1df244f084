"""The HTTP API against a real uvicorn server on 127.0.0.1, through httpx."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import httpx
import pytest
from conftest import running_server  # type: ignore[import-not-found]
from fake_openai_server import Answer, FakeLLM
from tests_support import parse_sse  # type: ignore[import-not-found]

from coach.checker import check
from coach.settings import CoachSettings

ANGRY = "You charged me twice for order 1182 and nobody answers my emails!"


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body


def test_health_ready_and_docs(api_url: str) -> None:
    assert httpx.get(f"{api_url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{api_url}/readyz").json()
    assert ready["status"] == "ready" and ready["rules"] > 100 and ready["store"] == "sqlite"
    assert set(ready["languages"]) == {"en", "tr", "ro", "fi", "ms", "es", "de", "fr", "pt"}
    schema = httpx.get(f"{api_url}/openapi.json").json()
    for path in ("/v1/check", "/v1/coach", "/v1/feedback", "/v1/rules", "/healthz", "/readyz"):
        assert path in schema["paths"], path
    assert httpx.get(f"{api_url}/docs").status_code == 200


def test_check_follows_the_contract(api_url: str) -> None:
    text = "Rauhoitu, ymmärsit väärin."
    response = httpx.post(f"{api_url}/v1/check", json={"text": text, "language": "fi"})
    assert response.status_code == 200
    body = response.json()
    assert body["language"] == "fi" and body["passed"] is False
    for v in body["violations"]:
        assert text[v["start"] : v["end"]] == v["text"]
        assert v["severity"] in {"block", "warn"}
    assert "fi.dismissive.rauhoitu" in {v["rule"] for v in body["violations"]}
    assert response.headers["x-request-id"]


def test_the_apps_own_settings_say_what_agents_may_promise(db_url: str) -> None:
    """An app made with ``allowed_commitments`` in its settings (not in the process's
    environment) applies that list to a /v1/check that says nothing."""
    settings = CoachSettings(database_url=db_url, allowed_commitments=["refund"])
    with running_server(settings) as url:

        def post(text: str) -> dict[str, Any]:
            response = httpx.post(f"{url}/v1/check", json={"text": text, "language": "en"})
            assert response.status_code == 200, response.text
            return response.json()  # type: ignore[no-any-return]

        refund = post("I'll give you a full refund today.")
        assert refund["passed"] is True and refund["violations"] == [], refund
        replacement = post("We will send you a replacement tomorrow.")
        assert replacement["passed"] is False
        assert {v["severity"] for v in replacement["violations"]} == {"block"}


def test_commitments_over_http_follow_allowed_commitments(api_url: str) -> None:
    """Left out: a warning that authorisation is unknown; a list (even empty): enforced."""
    text = "I'll give you a full refund today."

    def post(context: dict[str, Any] | None) -> dict[str, Any]:
        body: dict[str, Any] = {"text": text, "language": "en"}
        if context is not None:
            body["context"] = context
        response = httpx.post(f"{api_url}/v1/check", json=body)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    for unknown in (None, {}, {"allowed_commitments": None}):
        body = post(unknown)
        assert body["passed"] is True
        (refund,) = body["violations"]
        assert refund["rule"] == "en.over_promise.refund" and refund["severity"] == "warn"
        assert "No allowed_commitments" in refund["message"]
    assert post({"allowed_commitments": []})["passed"] is False
    assert post({"allowed_commitments": ["replacement"]})["passed"] is False
    assert post({"allowed_commitments": ["refund"]}) == {
        **post({"allowed_commitments": ["refund"]}),
        "passed": True,
        "violations": [],
    }
    schema = httpx.get(f"{api_url}/openapi.json").json()
    field = schema["components"]["schemas"]["Context"]["properties"]["allowed_commitments"]
    assert "Left out" in field["description"]


def test_request_ids_are_echoed_or_made(api_url: str) -> None:
    mine = httpx.get(f"{api_url}/healthz", headers={"X-Request-ID": "abc-123"})
    assert mine.headers["x-request-id"] == "abc-123"
    odd = httpx.get(f"{api_url}/healthz", headers={"X-Request-ID": "no spaces <allowed>"})
    assert (
        odd.headers["x-request-id"] != "no spaces <allowed>"
        and len(odd.headers["x-request-id"]) == 32
    )


def test_rules_listing(api_url: str) -> None:
    everything = httpx.get(f"{api_url}/v1/rules").json()
    turkish = httpx.get(f"{api_url}/v1/rules", params={"language": "tr"}).json()
    assert everything["count"] == len(everything["rules"]) > turkish["count"] > 0
    assert {r["language"] for r in turkish["rules"]} <= {"tr", "neutral"}
    assert_envelope(httpx.get(f"{api_url}/v1/rules", params={"language": "xx"}), 404, "not_found")


def test_coach_json_and_feedback_is_stored(api_url: str, db_url: str) -> None:
    response = httpx.post(
        f"{api_url}/v1/coach",
        json={
            "customer_message": ANGRY,
            "draft": "Calm down. I checked order 1182.",
            "context": {"customer_name": "Ana"},
        },
        headers={"X-Request-ID": "req-feedback-1"},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["request_id"] == "req-feedback-1"
    assert result["model"] == "rules" and result["suggestion_check"]["passed"]
    assert check(result["suggestion"], result["language"]).passed
    assert "I checked order 1182." in result["suggestion"]

    stored = httpx.post(
        f"{api_url}/v1/feedback",
        json={
            "request_id": "req-feedback-1",
            "action": "edited",
            "final_text": "Hi Ana, I checked order 1182.",
        },
    )
    assert stored.status_code == 201, stored.text
    assert stored.json()["action"] == "edited"
    path = db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        row = conn.execute(
            "select f.action, f.final_text, s.model, s.suggestion from feedback f "
            "join suggestions s on s.request_id = f.request_id where f.request_id = ?",
            ("req-feedback-1",),
        ).fetchone()
    assert row == ("edited", "Hi Ana, I checked order 1182.", "rules", result["suggestion"])


def test_feedback_errors(api_url: str) -> None:
    assert_envelope(
        httpx.post(f"{api_url}/v1/feedback", json={"request_id": "unknown", "action": "accepted"}),
        404,
        "not_found",
    )
    body = assert_envelope(
        httpx.post(f"{api_url}/v1/feedback", json={"request_id": "x", "action": "edited"}),
        422,
        "invalid_input",
    )
    assert "final_text" in body["error"]["message"]
    assert_envelope(
        httpx.post(f"{api_url}/v1/feedback", json={"request_id": "x", "action": "liked"}),
        422,
        "invalid_input",
    )


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/v1/check", b"{not json"),
        ("/v1/check", b'{"text": 5}'),
        ("/v1/check", b'{"text": "hi", "language": "not a language!"}'),
        ("/v1/check", b'{"text": "hi", "unknown": 1}'),
        ("/v1/coach", b'{"customer_message": ""}'),
        ("/v1/coach", b'{"customer_message": "hi", "channel": "fax"}'),
        ("/v1/coach", b'{"customer_message": "hi", "history": [{"role": "bot", "text": "x"}]}'),
        ("/v1/coach", b"[]"),
    ],
)
def test_bad_input_is_a_422_envelope(api_url: str, path: str, payload: bytes) -> None:
    response = httpx.post(
        f"{api_url}{path}", content=payload, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] in {"invalid_input", "invalid_json"}


def test_unknown_routes_and_methods_are_envelopes(api_url: str) -> None:
    assert_envelope(httpx.get(f"{api_url}/v1/nothing"), 404, "not_found")
    assert_envelope(httpx.get(f"{api_url}/v1/check"), 405, "method_not_allowed")


def test_a_large_body_is_refused_with_413(db_url: str) -> None:
    with running_server(CoachSettings(database_url=db_url, max_body_bytes=2048)) as url:
        big = {"text": "x" * 5000}
        assert_envelope(httpx.post(f"{url}/v1/check", json=big), 413, "body_too_large")

        def chunks():  # no Content-Length: the limit holds while the body arrives
            for _ in range(10):
                yield b" " * 1000

        streamed = httpx.post(
            f"{url}/v1/check", content=chunks(), headers={"content-type": "application/json"}
        )
        assert_envelope(streamed, 413, "body_too_large")
        assert httpx.post(f"{url}/v1/check", json={"text": "Thanks!"}).status_code == 200


def test_api_keys_and_rate_limits(db_url: str) -> None:
    settings = CoachSettings(
        database_url=db_url, api_keys=["k-one", "k-two"], rate_limit_per_minute=3
    )
    with running_server(settings) as url:
        body = {"text": "Thanks for waiting!"}
        assert_envelope(httpx.post(f"{url}/v1/check", json=body), 401, "unauthorized")
        bad = httpx.post(f"{url}/v1/check", json=body, headers={"Authorization": "Bearer nope"})
        assert_envelope(bad, 401, "unauthorized")
        assert bad.headers["www-authenticate"] == "Bearer"
        ok = [
            httpx.post(
                f"{url}/v1/check", json=body, headers={"Authorization": "Bearer k-one"}
            ).status_code
            for _ in range(3)
        ]
        assert ok == [200, 200, 200]
        limited = httpx.post(
            f"{url}/v1/check", json=body, headers={"Authorization": "Bearer k-one"}
        )
        assert_envelope(limited, 429, "rate_limited")
        assert int(limited.headers["retry-after"]) >= 1
        # Limits are per key: the other key still has its budget.
        other = httpx.post(f"{url}/v1/check", json=body, headers={"X-API-Key": "k-two"})
        assert other.status_code == 200
        # Operations endpoints stay open for the platform.
        assert httpx.get(f"{url}/healthz").status_code == 200


def test_cors_for_the_widget_origin(db_url: str) -> None:
    settings = CoachSettings(database_url=db_url, cors_origins=["https://helpdesk.example"])
    with running_server(settings) as url:
        preflight = httpx.options(
            f"{url}/v1/check",
            headers={
                "Origin": "https://helpdesk.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://helpdesk.example"
        other = httpx.post(
            f"{url}/v1/check", json={"text": "hi"}, headers={"Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in other.headers


def test_metrics_count_requests_and_violations(api_url: str) -> None:
    httpx.post(f"{api_url}/v1/check", json={"text": "Calm down.", "language": "en"})
    httpx.post(
        f"{api_url}/v1/coach", json={"customer_message": ANGRY, "draft": "That's not our policy."}
    )
    text = httpx.get(f"{api_url}/metrics").text
    assert 'coach_http_requests_total{method="POST",route="/v1/check",status="200"} 1.0' in text
    assert (
        'coach_violations_total{category="dismissive",severity="block",source="check"} 1.0' in text
    )
    assert (
        'coach_violations_total{category="policy_shield",severity="block",source="draft"} 1.0'
        in text
    )
    assert "coach_http_request_seconds_bucket" in text


def test_coach_streams_guarded_sentences_from_the_rules_coach(api_url: str) -> None:
    with httpx.stream(
        "POST",
        f"{api_url}/v1/coach",
        json={"customer_message": ANGRY, "draft": "Calm down. I checked order 1182."},
        headers={"Accept": "text/event-stream"},
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(response.iter_lines())
    names = [e for e, _ in events]
    assert names[-1] == "result" and names.count("delta") >= 3
    result = events[-1][1]
    streamed = "".join(d["text"] for e, d in events if e == "delta")
    assert streamed == result["suggestion"]
    assert result["suggestion_check"]["passed"]


def test_coach_stream_never_sends_a_blocked_sentence(db_url: str, fake_llm: FakeLLM) -> None:
    fake_llm.script(
        "streamer",
        [
            Answer.reply(
                "I'm sorry about the double charge. Calm down, it is only money. I am checking it."
            ),
            Answer.reply("I'm sorry about the double charge. I am checking order 1182 now."),
        ],
    )
    settings = CoachSettings(
        database_url=db_url, model="openai/streamer", api_base=fake_llm.base_url, api_key="sk-test"
    )
    with (
        running_server(settings) as url,
        httpx.stream(
            "POST",
            f"{url}/v1/coach",
            json={"customer_message": ANGRY, "language": "en"},
            headers={"Accept": "text/event-stream"},
            timeout=30,
        ) as response,
    ):
        events = parse_sse(response.iter_lines())
    deltas = [d["text"] for e, d in events if e == "delta"]
    assert all(check(d, "en").passed for d in deltas)
    assert not any("Calm down" in d for d in deltas)
    names = [e for e, _ in events]
    assert "reset" in names and names[-1] == "result"
    after_reset = "".join(d["text"] for e, d in events[names.index("reset") :] if e == "delta")
    assert (
        after_reset
        == events[-1][1]["suggestion"]
        == "I'm sorry about the double charge. I am checking order 1182 now."
    )


def test_coach_with_a_dead_model_and_no_fallback_is_503(db_url: str, fake_llm: FakeLLM) -> None:
    fake_llm.script("dead", [Answer(status=401)])
    settings = CoachSettings(
        database_url=db_url,
        model="openai/dead",
        api_base=fake_llm.base_url,
        api_key="sk",
        allow_rules_fallback=False,
    )
    with running_server(settings) as url:
        response = httpx.post(f"{url}/v1/coach", json={"customer_message": ANGRY}, timeout=30)
    body = assert_envelope(response, 503, "unavailable")
    assert "HTTP 401" in body["error"]["message"]


def test_concurrent_requests_are_all_answered(api_url: str) -> None:
    import concurrent.futures

    def one(i: int) -> int:
        r = httpx.post(
            f"{api_url}/v1/check", json={"text": f"Reply number {i}. Calm down."}, timeout=30
        )
        return r.status_code

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(one, range(64)))
    assert codes == [200] * 64
    assert json.loads(httpx.get(f"{api_url}/readyz").text)["status"] == "ready"
