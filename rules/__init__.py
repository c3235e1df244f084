"""The deterministic rules layer: multilingual rule packs (data) and a small engine."""

from rules.engine import CompiledRule, Finding, RuleSet, repair
from rules.loader import BUILTIN_DIR, PackError, load_rules
from rules.model import Category, RuleKind, Severity

__all__ = [
    "BUILTIN_DIR",
    "Category",
    "CompiledRule",
    "Finding",
    "PackError",
    "RuleKind",
    "RuleSet",
    "Severity",
    "load_rules",
    "repair",
]
