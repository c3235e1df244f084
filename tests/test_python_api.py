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


WRAPPING_PACK = """\
language: en
category: dismissive
source: "a company's own pack, wrapping a built-in phrase"
rules:
  - name: calm-down-and-listen
    severity: warn
    patterns: ["calm down and listen"]
    message: "Tell the customer what you will do instead."
    examples:
      flag: ["Calm down and listen to me."]
      pass: ["Listen, here is what I will do."]
  - name: calm-down-sir
    severity: block
    patterns: ["calm down,? sir"]
    message: "Never tell a customer to calm down."
    examples:
      flag: ["Calm down, sir."]
      pass: ["Thank you, sir."]
"""


def _spans(result: CheckResult) -> list[tuple[str, str, str]]:
    return [(v.rule, v.severity.value, v.text) for v in result.violations]


def test_one_finding_per_category_and_place(tmp_path, monkeypatch) -> None:
    """Nested findings of one category are one underline; a block is never hidden by a
    warning around it (shouting inside a hostile phrase: test_engine's capitals test)."""
    from coach.checker import default_ruleset

    text = "Sorry about that, this will never happen again."
    bare = [v for v in check(text, "en", detectors=("rules",)).violations]
    assert [v.category.value for v in bare] == ["over_promise"], _spans(
        check(text, "en", detectors=("rules",))
    )
    assert bare[0].text.lower().endswith("never happen again")
    fr = check("Vous le faites exprès ?", "fr", detectors=("rules",))
    assert len([v for v in fr.violations if v.category.value == "hostile"]) == 1, _spans(fr)

    (tmp_path / "wrap.yaml").write_text(WRAPPING_PACK, encoding="utf-8")
    monkeypatch.setenv("COACH_RULES_DIR", str(tmp_path))
    from coach.settings import get_settings

    get_settings.cache_clear()
    default_ruleset.cache_clear()
    try:
        outer_warn = check("Calm down and listen.", "en", detectors=("rules",))
        assert not outer_warn.passed  # the built-in block inside the warning stays
        assert {(v.severity.value, v.text) for v in outer_warn.violations} >= {
            ("warn", "Calm down and listen"),
            ("block", "Calm down"),
        }, _spans(outer_warn)
        outer_block = check("Calm down, sir.", "en", detectors=("rules",))
        assert [(v.rule, v.text) for v in outer_block.violations] == [
            ("en.dismissive.calm-down-sir", "Calm down, sir")
        ], _spans(outer_block)
    finally:
        monkeypatch.delenv("COACH_RULES_DIR")
        get_settings.cache_clear()
        default_ruleset.cache_clear()
