"""The reply coach: helps customer-service agents answer upset customers well.

    >>> from coach import check
    >>> result = check("Calm down, that's not our policy.", language="en")
    >>> result.passed, [v.category for v in result.violations]
    (False, [<Category.DISMISSIVE: 'dismissive'>, <Category.POLICY_SHIELD: 'policy_shield'>])

Heavy dependencies (litellm, guardrails-ai) are imported only by the modules
that need them, so checking text starts fast.
"""

from coach.checker import check, default_ruleset, repair_text
from coach.schemas import CheckResult, Context, Violation
from coach.settings import CoachSettings, get_settings
from rules import Category, PackError, RuleSet, Severity, load_rules

__all__ = [
    "Category",
    "CheckResult",
    "CoachSettings",
    "Context",
    "PackError",
    "RuleSet",
    "Severity",
    "Violation",
    "check",
    "default_ruleset",
    "get_settings",
    "load_rules",
    "repair_text",
]
__version__ = "0.1.0"
