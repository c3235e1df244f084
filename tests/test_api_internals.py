"""The request path's cheaper mechanics write what the plain ones wrote (logs, metrics, headers).

Log lines are compact JSON now (orjson): the same objects, keys in the same order.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.logs import FIELDS, JsonFormatter
from api.metrics import Metrics
from api.schemas import CheckRequest
from coach.checker import check
from coach.schemas import CheckResult
from coach.settings import CoachSettings


class ReferenceFormatter(logging.Formatter):
    """The formatter as first written (datetime and json.dumps per line): the expected output."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _record(created: float, **extra: Any) -> logging.LogRecord:
    record = logging.getLogger("coach.api.access").makeRecord(
        "coach.api.access", logging.INFO, __file__, 1, "request %s", ("ok",), None, extra=extra
    )
    record.created = created
    record.msecs = int((created - int(created)) * 1000) + 0.0
    return record


@pytest.mark.parametrize(
    "created",
    [
        1_767_225_600.0,
        1_767_225_600.0005,
        1_767_225_600.123,
        1_767_225_600.9999996,
        1_767_225_601.5,
    ],
)
def test_json_log_lines_are_unchanged(created: float) -> None:
    fields = {
        "request_id": "abc-123",
        "method": "POST",
        "route": "/v1/check",
        "status": 200,
        "ms": 0.42,
        "key": None,  # None fields are left out
        "language": "tr",
        "passed": False,
        "violations": 2,
        "text": "Sakin olun, [email] adresine yazın ç ğ ü",
        "not_a_field": "never written",
    }
    formatter, reference = JsonFormatter(), ReferenceFormatter()
    # Twice: the second line reuses the cached second.
    for _ in range(2):
        record = _record(created, **fields)
        assert_same_line(formatter.format(record), reference.format(record))


def assert_same_line(line: str, expected: str) -> None:
    assert "\n" not in line
    assert list(json.loads(line).items()) == list(json.loads(expected).items())
    assert line == json.dumps(json.loads(expected), ensure_ascii=False, separators=(",", ":"))


def test_values_orjson_refuses_are_written_as_json_writes_them() -> None:
    record = _record(1_767_225_600.25, violations=10**30, status=200)
    assert_same_line(JsonFormatter().format(record), ReferenceFormatter().format(record))


def test_json_log_lines_with_an_exception_are_unchanged() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        info = sys.exc_info()
    record = logging.getLogger("coach.api").makeRecord(
        "coach.api",
        logging.ERROR,
        __file__,
        1,
        "unhandled error",
        (),
        info,
        extra={"request_id": "r"},
    )
    assert_same_line(JsonFormatter().format(record), ReferenceFormatter().format(record))


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def client(tmp_path: Any) -> Any:
    settings = CoachSettings(
        database_url=f"sqlite:///{tmp_path / 'coach.db'}",
        api_keys=["k-one"],
        rate_limit_per_minute=0,
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_access_log_record_and_request_id(client: TestClient) -> None:
    access = logging.getLogger("coach.api.access")
    collect = Collect()
    access.addHandler(collect)
    level = access.level
    access.setLevel(logging.INFO)
    try:
        response = client.post(
            "/v1/check",
            json={"text": "Calm down.", "language": "en"},
            headers={"X-API-Key": "k-one", "X-Request-ID": "given-1"},
        )
        made = client.get("/healthz")
    finally:
        access.removeHandler(collect)
        access.setLevel(level)
    assert response.status_code == 200 and response.headers["x-request-id"] == "given-1"
    assert len(made.headers["x-request-id"]) == 32
    int(made.headers["x-request-id"], 16)
    first, second = collect.records
    assert (first.name, first.levelno, first.getMessage()) == ("coach.api.access", 20, "request")
    fields = {name: getattr(first, name, None) for name in FIELDS}
    assert {k: v for k, v in fields.items() if v is not None and k != "ms"} == {
        "request_id": "given-1",
        "method": "POST",
        "route": "/v1/check",
        "status": 200,
        "key": first.key,
        "language": "en",
        "passed": False,
        "violations": 1,
    }
    assert isinstance(first.ms, float) and len(first.key) == 12
    assert (second.route, second.status, second.request_id) == (
        "/healthz",
        200,
        made.headers["x-request-id"],
    )


def test_api_key_headers_are_read_from_the_raw_request(client: TestClient) -> None:
    body = {"text": "Thanks for waiting.", "language": "en"}
    assert client.post("/v1/check", json=body, headers={"X-API-Key": "k-one"}).status_code == 200
    bearer = client.post("/v1/check", json=body, headers={"authorization": "bearer k-one"})
    assert bearer.status_code == 200
    # X-API-Key wins over Authorization, as before.
    both = {"X-API-Key": "wrong", "Authorization": "Bearer k-one"}
    assert client.post("/v1/check", json=body, headers=both).status_code == 401
    assert client.post("/v1/check", json=body).status_code == 401


def test_metric_children_are_cached_and_counted() -> None:
    metrics = Metrics()
    for _ in range(3):
        metrics.observe_request("POST", "/v1/check", 200, 0.002)
    metrics.observe_request("POST", "/v1/check", 422, 0.001)
    text = metrics.render().decode()
    assert 'coach_http_requests_total{method="POST",route="/v1/check",status="200"} 3.0' in text
    assert 'coach_http_requests_total{method="POST",route="/v1/check",status="422"} 1.0' in text
    assert 'coach_http_request_seconds_count{route="/v1/check"} 4.0' in text
    assert 'coach_http_request_seconds_bucket{le="0.0025",route="/v1/check"} 4.0' in text


CHECKS: list[dict[str, Any]] = [
    {"text": "Calm down, that's not our policy.", "language": "en"},
    {"text": "Thanks for waiting, I have refunded order 1182 today.", "language": "en"},
    {"text": "Sakin olun, bu bizim politikamız değil. Siparişiniz yolda."},
    {"text": "I guarantee a refund by Friday.", "context": {"allowed_commitments": ["refund"]}},
    {"text": "Rauhoitu, ymmärsit väärin.", "language": "FI"},
]


def test_check_answers_what_fastapi_would_serialize(client: TestClient) -> None:
    """/v1/check sends its model pre-serialized: same bytes and headers as FastAPI's own."""
    plain = FastAPI()

    @plain.post("/v1/check", response_model=CheckResult)
    async def plain_check(body: CheckRequest) -> CheckResult:
        return check(body.text, body.language, body.context)

    with TestClient(plain) as reference:
        for body in CHECKS:
            ours = client.post("/v1/check", json=body, headers={"X-API-Key": "k-one"})
            theirs = reference.post("/v1/check", json=body)
            assert ours.status_code == theirs.status_code == 200
            assert ours.content == theirs.content
            assert {k: v for k, v in ours.headers.items() if k != "x-request-id"} == dict(
                theirs.headers
            )


def test_check_still_documents_its_response_model(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    answer = schema["paths"]["/v1/check"]["post"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CheckResult"
    }
