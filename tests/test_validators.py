"""The guardrails-ai adapter: one registered Validator per category, composable in a Guard."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from coach import check
from coach.validators import VALIDATORS, AllRules, Dismissive, OverPromise
from rules import Category, load_rules

PROBE = Path(__file__).parent / "helpers" / "no_network_probe.py"
RULES = load_rules()


def _first_blocking_example(category: Category, language: str) -> str:
    for rule in RULES.rules:
        if (
            rule.category is category
            and rule.language == language
            and rule.severity.value == "block"
        ):
            return rule.spec.examples.flag[0]
    raise AssertionError(f"no blocking {category} rule in {language}")


def test_every_category_has_a_registered_validator() -> None:
    from guardrails.validator_base import validators_registry

    assert set(VALIDATORS) == set(Category)
    for category, cls in VALIDATORS.items():
        assert validators_registry[f"reply-coach/{category.value}"] is cls


@pytest.mark.parametrize("category", list(Category), ids=lambda c: c.value)
def test_validator_fails_with_spans_and_a_fix_that_passes(category: Category) -> None:
    language = "en"
    text = "Thanks for your message. " + _first_blocking_example(category, language)
    result = VALIDATORS[category](language=language).validate(text, {})
    assert result.outcome == "fail"
    assert result.error_spans
    for span in result.error_spans:
        assert 0 <= span.start < span.end <= len(text)
        assert span.reason.startswith(f"{language}.{category.value}.") or span.reason.startswith(
            "neutral."
        )
    fixed = result.fix_value
    assert isinstance(fixed, str)
    assert not any(
        v.category == category and v.severity == "block" for v in check(fixed, language).violations
    ), fixed
    assert fixed.startswith("Thanks for your message.")


def test_validator_passes_clean_text_and_respects_metadata() -> None:
    assert OverPromise(language="en").validate("I'll look into it today.", {}).outcome == "pass"
    refund = "I'll give you a full refund."
    assert OverPromise(language="en").validate(refund, {}).outcome == "fail"
    allowed = OverPromise(language="en").validate(refund, {"allowed_commitments": ["refund"]})
    assert allowed.outcome == "pass"


def test_validators_compose_in_a_guard() -> None:
    from guardrails import Guard

    guard = Guard().use(
        Dismissive(language="en", on_fail="fix"), OverPromise(language="en", on_fail="fix")
    )
    outcome = guard.validate("Calm down. I guarantee it ships today. Thanks for waiting!")
    assert outcome.validated_output == "Thanks for waiting!"
    assert sorted(s.validator_name for s in outcome.validation_summaries) == [
        "Dismissive",
        "OverPromise",
    ]

    strict = Guard().use(AllRules(language="en", on_fail="exception"))
    with pytest.raises(Exception, match=r"en\.helpless\.nothing-i-can-do"):
        strict.validate("There's nothing I can do.")
    assert strict.validate("Here is what I can do right now.").validation_passed


def _probe(mode: str, home: Path) -> list[str]:
    # A fresh HOME: no ~/.guardrailsrc, as on a new machine.
    env = {**os.environ, "HOME": str(home)}
    run = subprocess.run(
        [sys.executable, str(PROBE), mode], capture_output=True, text=True, timeout=120, env=env
    )
    line = next(x for x in run.stdout.splitlines() if x.startswith("ATTEMPTS "))
    attempts: list[str] = json.loads(line.removeprefix("ATTEMPTS "))
    return attempts


def test_importing_and_validating_attempts_no_outbound_connection(tmp_path: Path) -> None:
    assert _probe("coach", tmp_path) == []


def test_the_probe_does_see_guardrails_default_telemetry(tmp_path: Path) -> None:
    # Control: plain guardrails (no ~/.guardrailsrc) tries to export traces;
    # the probe must notice, or the test above proves nothing.
    attempts = _probe("raw", tmp_path)
    assert any("amazonaws.com" in a for a in attempts), attempts
