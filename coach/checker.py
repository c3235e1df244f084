"""The Python API of the rules layer: check a text, repair a text."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache

from coach.langdetect import ALIASES, FALLBACK, detect
from coach.schemas import CheckResult, Context, LanguageSource, Violation
from coach.settings import get_settings
from rules import Category, Finding, RuleSet, load_rules

_LANGUAGE_TAG = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*$")


@lru_cache(maxsize=1)
def default_ruleset() -> RuleSet:
    """Built-in packs plus COACH_RULES_DIR, loaded once per process."""
    return load_rules(get_settings().rules_dir)


@dataclass(frozen=True)
class LanguageChoice:
    language: str
    source: LanguageSource
    detected: str | None
    notes: list[str]


def choose_language(text: str, language: str | None, ruleset: RuleSet) -> LanguageChoice:
    """The pack language for ``text``: the given one when it has a pack, else detected."""
    supported = tuple(ruleset.languages)
    if language:
        match = _LANGUAGE_TAG.match(language.strip())
        if not match:
            raise ValueError(f"not a language code: {language!r} (use ISO 639-1, e.g. en, tr, fi)")
        code = match.group(1).lower()
        pack = ALIASES.get(code, code)
        if pack in supported:
            notes = [f"{code} is checked with the {pack} rules"] if pack != code else []
            return LanguageChoice(pack, "given", None, notes)
        return LanguageChoice(
            FALLBACK,
            "fallback",
            None,
            [f"no rule pack for {code}; using en and the language-neutral rules"],
        )
    found = detect(text, supported)
    return LanguageChoice(found.language, found.source, found.detected, list(found.notes))


def to_violation(finding: Finding) -> Violation:
    rule = finding.rule
    return Violation(
        rule=rule.id,
        category=rule.category,
        severity=rule.severity,
        start=finding.start,
        end=finding.end,
        text=finding.text,
        message=rule.spec.message,
        suggestion=finding.suggestion,
    )


def check(
    text: str,
    language: str | None = None,
    context: Context | None = None,
    *,
    categories: Collection[Category] | None = None,
    ruleset: RuleSet | None = None,
) -> CheckResult:
    """Check ``text`` against the rules of its language (detected when not given).

    >>> check("Please calm down.", "en").passed
    False
    """
    rs = ruleset or default_ruleset()
    choice = choose_language(text, language, rs)
    allowed = context.allowed_commitments if context else ()
    findings = rs.check(text, choice.language, allowed, categories)
    violations = [to_violation(f) for f in findings]
    return CheckResult(
        language=choice.language,
        passed=not any(f.blocking for f in findings),
        violations=violations,
        detected_language=choice.detected,
        language_source=choice.source,
        notes=choice.notes,
    )


def repair_text(
    text: str,
    language: str | None = None,
    context: Context | None = None,
    *,
    ruleset: RuleSet | None = None,
    max_rounds: int = 3,
) -> tuple[str, CheckResult]:
    """Apply the rules' deterministic fixes until the text passes (or rounds run out).

    Returns the repaired text and its final CheckResult; callers must look at
    ``passed``: a text whose every sentence breaks a rule can come back empty.
    """
    rs = ruleset or default_ruleset()
    choice = choose_language(text, language, rs)
    allowed = context.allowed_commitments if context else ()
    repaired = rs.repair(text, choice.language, allowed, max_rounds=max_rounds)
    return repaired, check(repaired, choice.language, context, ruleset=rs)
