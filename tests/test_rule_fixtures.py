"""Every rule's own examples: lines it must flag and lines it must leave alone (Vale-style)."""

from __future__ import annotations

from collections import Counter

import pytest

from rules import CompiledRule, RuleKind, engine, load_rules
from rules.engine import NEUTRAL
from rules.normalize import fold

RULESET = load_rules()
SEED_LANGUAGES = ["en", "tr", "ro", "fi", "ms"]
# Every language with a pack meets the seed languages' fixture counts.
LANGUAGES = ["en", "tr", "ro", "fi", "ms", "es", "de", "fr", "pt"]


def _check_language(rule: CompiledRule) -> str:
    return "en" if rule.language == NEUTRAL else rule.language


def _cases(kind: str) -> list[object]:
    """(rule, line) for every rule's example lines of one kind: flag, pass or soften."""
    field = "pass_" if kind == "pass" else kind
    return [
        pytest.param(rule, line, id=f"{rule.id}|{kind}|{i}")
        for rule in RULESET.rules
        for i, line in enumerate(getattr(rule.spec.examples, field))
    ]


FLAG_CASES = _cases("flag")
PASS_CASES = _cases("pass")


@pytest.mark.parametrize(("rule", "line"), FLAG_CASES)
def test_rule_flags_its_examples(rule: CompiledRule, line: str) -> None:
    findings = RULESET.check(line, _check_language(rule))
    hits = [f for f in findings if f.rule.id == rule.id]
    assert hits, f"{rule.id} did not flag {line!r}; got {[f.rule.id for f in findings]}"
    for hit in hits:
        assert line[hit.start : hit.end] == hit.text


@pytest.mark.parametrize(("rule", "line"), PASS_CASES)
def test_rule_leaves_its_pass_examples_alone(rule: CompiledRule, line: str) -> None:
    allowed = [rule.spec.commitment] if rule.spec.commitment else []
    hits = [f for f in RULESET.check(line, _check_language(rule)) if f.rule.id == rule.id]
    assert not hits, f"{rule.id} wrongly flagged {hits[0].text!r} in {line!r}"
    # A commitment rule's pass lines must pass without authorisation too.
    if allowed:
        hits = [f for f in RULESET.check(line, _check_language(rule), ()) if f.rule.id == rule.id]
        assert not hits


SOFTEN_CASES = _cases("soften")


@pytest.mark.parametrize(("rule", "line"), SOFTEN_CASES)
def test_rule_only_warns_on_its_soften_examples(rule: CompiledRule, line: str) -> None:
    hits = [f for f in RULESET.check(line, _check_language(rule)) if f.rule.id == rule.id]
    if rule.softened_passes:  # the pack's `when_softened: pass`: no finding, for that reason
        assert not hits, f"{rule.id} flags {line!r} although its pack passes softened findings"
        folded = fold(line).folded
        starts = [m.start() for p in rule.patterns if (m := p.search(folded)) is not None]
        assert starts, f"{rule.id} does not match {line!r} at all: make it a pass example"
        assert any(engine._softened(rule, folded, s) for s in starts), (
            f"{rule.id}: no softened_by pattern matched {line!r}"
        )
        return
    assert hits, f"{rule.id} did not flag {line!r}"
    assert all(f.softened and not f.blocking for f in hits), (
        f"{rule.id} blocks {line!r}: no softened_by pattern matched"
    )


def test_soften_examples_belong_to_blocking_rules_with_softeners() -> None:
    for rule in RULESET.rules:
        if rule.spec.examples.soften:
            assert rule.spec.severity.value == "block" and rule.softeners, rule.id


@pytest.mark.parametrize(
    "rule", [r for r in RULESET.rules if r.kind is RuleKind.COMMITMENT], ids=str
)
def test_commitment_rules_allow_authorised_commitments(rule: CompiledRule) -> None:
    assert rule.spec.commitment
    for line in rule.spec.examples.flag:
        hits = [
            f
            for f in RULESET.check(line, rule.language, allowed_commitments=[rule.spec.commitment])
            if f.rule.id == rule.id
        ]
        assert not hits, f"{rule.id} flagged {line!r} although {rule.spec.commitment} is allowed"


@pytest.mark.parametrize("rule", RULESET.rules, ids=lambda r: r.id)
def test_every_rule_has_fixtures(rule: CompiledRule) -> None:
    assert rule.spec.examples.flag, f"{rule.id} has no line it must flag"
    assert rule.spec.examples.pass_, f"{rule.id} has no line it must pass"


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_covers_all_categories_with_enough_fixtures(language: str) -> None:
    rules = [r for r in RULESET.rules if r.language == language]
    categories = {r.category.value for r in rules}
    assert len(categories) == 9, f"{language} misses {9 - len(categories)} categories"
    flags = sum(len(r.spec.examples.flag) for r in rules)
    passes = sum(len(r.spec.examples.pass_) for r in rules)
    assert flags >= 55, f"{language}: only {flags} flag lines"
    assert passes >= 33, f"{language}: only {passes} pass lines"
    kinds = Counter(r.severity.value for r in rules)
    assert kinds["block"] > 0


def test_no_pattern_is_repeated_within_a_language_and_category() -> None:
    """A pattern written twice in one category (two rules, or one rule twice) is dead weight:
    the second copy can only report a span the first already found. A twin in another
    category is allowed, since one sentence can break two (a sarcastic blame is also hostile)."""
    owners: dict[tuple[str, str, str], list[str]] = {}
    for rule in RULESET.rules:
        for pattern in rule.spec.patterns:
            owners.setdefault((rule.language, rule.category.value, pattern), []).append(rule.id)
    twins = {key[2]: ids for key, ids in owners.items() if len(ids) > 1}
    assert not twins, f"patterns repeated within a category: {twins}"
