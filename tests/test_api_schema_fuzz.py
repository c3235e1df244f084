"""schemathesis against the app's own OpenAPI schema on a real server: no 500s, ever.

Generated requests include invalid ones (negative mode): wrong types, missing
fields, odd strings. Every answer must be below 500, and every error must be
the JSON envelope ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from conftest import running_server  # type: ignore[import-not-found]
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error

from coach.settings import CoachSettings


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    db = tmp_path_factory.mktemp("fuzz") / "coach.db"
    settings_ = CoachSettings(database_url=f"sqlite:///{db}", rate_limit_per_minute=0)
    with running_server(settings_) as url:
        yield schemathesis.openapi.from_url(f"{url}/openapi.json")


# schemathesis' own pytest plugin does not run under pytest 9 yet ('_nodeid'), so
# each operation's strategy is driven by hypothesis directly: same generation,
# same checks.
MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]


def fuzz(operation: Any, mode: Any, seen: dict[int, int]) -> None:
    """Run one operation's generated cases against the server."""
    label = operation.label

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any) -> None:
        response = case.call(timeout=30)
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        case.validate_response(response, checks=[not_a_server_error])
        assert response.status_code < 500, (label, response.text)
        if response.status_code >= 400:
            body = response.json()
            assert set(body) == {"error"}, (label, body)
            assert isinstance(body["error"]["code"], str)
            assert isinstance(body["error"]["message"], str)

    try:
        run()
    except Unsatisfiable:
        # Nothing to make invalid: an operation with no body and no parameters.
        assert mode is schemathesis.GenerationMode.NEGATIVE
        assert not operation.body and not operation.query, label


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_no_server_errors_and_errors_are_envelopes(api_schema: Any, mode: Any) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 9
    seen: dict[int, int] = {}
    for operation in operations:
        fuzz(operation, mode, seen)
    # The fuzzing did reach the handlers and the validation both.
    assert sum(seen.values()) > 100
    if mode is schemathesis.GenerationMode.NEGATIVE:
        assert seen.get(422, 0) > 20, seen


def test_the_schema_lists_every_endpoint(api_schema: Any) -> None:
    paths = set(api_schema.raw_schema["paths"])
    assert {
        "/v1/check",
        "/v1/coach",
        "/v1/feedback",
        "/v1/note",
        "/v1/rules",
        "/v1/chat/completions",
        "/healthz",
        "/readyz",
        "/metrics",
    } <= paths
