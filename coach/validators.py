"""Every rule category as a guardrails-ai Validator.

The coach's own engine does the matching (about 1 ms per ``Guard.validate``
against microseconds for the engine alone); these classes are the adapter
that lets any guardrails user compose the rules in a Guard::

    from guardrails import Guard
    from coach.validators import Dismissive, OverPromise

    guard = Guard().use(Dismissive(language="en", on_fail="fix"), OverPromise(on_fail="fix"))
    guard.validate("Calm down, I guarantee it ships today.")

Importing this module turns guardrails-ai's hub telemetry off for the whole
process (guardrails enables it by default when no ``~/.guardrailsrc`` exists,
and would post traces to an outside endpoint). ``tests/test_validators.py``
proves that importing and validating attempts no outbound connection.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from coach.telemetry import quiet_guardrails

quiet_guardrails()

from guardrails.classes.validation.validation_result import (  # noqa: E402
    ErrorSpan,
    FailResult,
    PassResult,
    ValidationResult,
)
from guardrails.validator_base import Validator, register_validator  # noqa: E402

from coach.checker import (  # noqa: E402
    choose_language,
    default_ruleset,
    find_all,
    repair_all,
)
from rules import Category, RuleSet  # noqa: E402

assert os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP") == "True"


class CategoryValidator(Validator):  # type: ignore[misc]
    """Fails when the text breaks a rule of ``category`` (blocking ones, or all with include_warnings).

    Metadata ``language`` and ``allowed_commitments`` override the constructor's.
    ``fix_value`` is the text repaired by the rules' deterministic fixes.
    """

    categories: ClassVar[frozenset[Category] | None]

    def __init__(
        self,
        language: str | None = None,
        allowed_commitments: list[str] | None = None,
        include_warnings: bool = False,
        on_fail: Any = None,
        ruleset: RuleSet | None = None,
    ) -> None:
        super().__init__(
            on_fail=on_fail,
            language=language,
            allowed_commitments=allowed_commitments,
            include_warnings=include_warnings,
        )
        self.language = language
        self.allowed_commitments = list(allowed_commitments or [])
        self.include_warnings = include_warnings
        self._ruleset = ruleset

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        text = str(value)
        rules = self._ruleset or default_ruleset()
        # A short reply is checked with every plausible pack (see coach.checker).
        choice = choose_language(text, metadata.get("language", self.language), rules)
        allowed = metadata.get("allowed_commitments", self.allowed_commitments)
        findings = find_all(text, choice, rules, allowed, self.categories)
        failing = [f for f in findings if f.blocking or self.include_warnings]
        if not failing:
            return PassResult()
        fixed = repair_all(text, choice, rules, allowed, self.categories)
        spans = [
            ErrorSpan(start=f.start, end=f.end, reason=f"{f.rule.id}: {f.rule.spec.message}")
            for f in failing
        ]
        names = ", ".join(sorted({f.rule.id for f in failing}))
        return FailResult(error_message=f"breaks {names}", fix_value=fixed, error_spans=spans)


@register_validator(name="reply-coach/dismissive", data_type="string")
class Dismissive(CategoryValidator):
    categories = frozenset({Category.DISMISSIVE})


@register_validator(name="reply-coach/policy_shield", data_type="string")
class PolicyShield(CategoryValidator):
    categories = frozenset({Category.POLICY_SHIELD})


@register_validator(name="reply-coach/helpless", data_type="string")
class Helpless(CategoryValidator):
    categories = frozenset({Category.HELPLESS})


@register_validator(name="reply-coach/blame", data_type="string")
class Blame(CategoryValidator):
    categories = frozenset({Category.BLAME})


@register_validator(name="reply-coach/brush_off", data_type="string")
class BrushOff(CategoryValidator):
    categories = frozenset({Category.BRUSH_OFF})


@register_validator(name="reply-coach/runaround", data_type="string")
class Runaround(CategoryValidator):
    categories = frozenset({Category.RUNAROUND})


@register_validator(name="reply-coach/over_promise", data_type="string")
class OverPromise(CategoryValidator):
    categories = frozenset({Category.OVER_PROMISE})


@register_validator(name="reply-coach/false_apology", data_type="string")
class FalseApology(CategoryValidator):
    categories = frozenset({Category.FALSE_APOLOGY})


@register_validator(name="reply-coach/hostile", data_type="string")
class Hostile(CategoryValidator):
    categories = frozenset({Category.HOSTILE})


@register_validator(name="reply-coach/all", data_type="string")
class AllRules(CategoryValidator):
    """Every category at once."""

    categories = None


VALIDATORS: dict[Category, type[CategoryValidator]] = {
    Category.DISMISSIVE: Dismissive,
    Category.POLICY_SHIELD: PolicyShield,
    Category.HELPLESS: Helpless,
    Category.BLAME: Blame,
    Category.BRUSH_OFF: BrushOff,
    Category.RUNAROUND: Runaround,
    Category.OVER_PROMISE: OverPromise,
    Category.FALSE_APOLOGY: FalseApology,
    Category.HOSTILE: Hostile,
}
