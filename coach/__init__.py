"""The reply coach: helps customer-service agents answer upset customers well.

    >>> from coach import check
    >>> result = check("Calm down, that's not our policy.", language="en")
    >>> result.passed, [v.category for v in result.violations]
    (False, [<Category.DISMISSIVE: 'dismissive'>, <Category.POLICY_SHIELD: 'policy_shield'>])

Coaching (``suggest``, ``Coach``) is imported on first use, and litellm only
when a real model is called, so checking text starts fast:

    >>> from coach import suggest
    >>> result = suggest("You charged me twice!", "Calm down, that's our policy.", language="en")
    >>> result.model, result.suggestion_check.passed
    ('rules', True)
"""

from typing import TYPE_CHECKING, Any

from coach.checker import check, default_ruleset, repair_text
from coach.schemas import CheckResult, CoachRequest, CoachResult, Context, Violation
from coach.settings import CoachSettings, get_settings
from rules import Category, PackError, RuleSet, Severity, load_rules

if TYPE_CHECKING:
    from coach.pipeline import Coach, NoModelAnswered, suggest

_LAZY = {"Coach", "NoModelAnswered", "suggest"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from coach import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'coach' has no attribute {name!r}")


__all__ = [
    "Category",
    "CheckResult",
    "Coach",
    "CoachRequest",
    "CoachResult",
    "CoachSettings",
    "Context",
    "NoModelAnswered",
    "PackError",
    "RuleSet",
    "Severity",
    "Violation",
    "check",
    "default_ruleset",
    "get_settings",
    "load_rules",
    "repair_text",
    "suggest",
]
__version__ = "0.1.0"
