"""The Python API returns the contract's pydantic CheckResult."""

from __future__ import annotations

import pytest

import coach
from coach import CheckResult, Context, check


def test_check_returns_check_result() -> None:
    result = check("There's nothing I can do, my hands are tied.", language="en")
    assert isinstance(result, CheckResult)
    found = {v.rule for v in result.violations}
    assert {"en.helpless.nothing-i-can-do", "en.helpless.hands-tied"} <= found
    assert {v.category for v in result.violations} == {"helpless"}
    assert result.model_dump(mode="json")["violations"][0]["category"] == "helpless"


def test_language_tags_and_aliases() -> None:
    assert check("hello", language="en-GB").language == "en"
    indonesian = check("Tenang saja, itu bukan masalah saya.", language="id")
    assert indonesian.language == "ms"
    assert indonesian.notes == ["id is checked with the ms rules"]
    with pytest.raises(ValueError, match="not a language code"):
        check("hello", language="123")


def test_context_is_validated() -> None:
    with pytest.raises(ValueError):
        Context(allowed_commitments="refund")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Context(unknown_field=1)  # type: ignore[call-arg]


def test_public_names() -> None:
    for name in coach.__all__:
        assert hasattr(coach, name), name
