"""Recognising de-escalation techniques in a reply (per-language patterns in ``evals/signals/``)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from rules.normalize import fold_string
from rules.pattern import compile_any, word_matches

SIGNALS_DIR = Path(__file__).resolve().parent / "signals"


@lru_cache(maxsize=16)
def _patterns(language: str) -> dict[str, re.Pattern[str]]:
    path = SIGNALS_DIR / f"{language}.yaml"
    if not path.is_file():
        path = SIGNALS_DIR / "en.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {technique: compile_any(patterns) for technique, patterns in data.items()}


def techniques_in(reply: str, language: str, customer_name: str | None = None) -> set[str]:
    """The techniques a reply visibly uses."""
    folded = fold_string(reply)
    found = {
        technique
        for technique, pattern in _patterns(language).items()
        if word_matches(pattern, folded)
    }
    if customer_name and customer_name.casefold() in reply.casefold():
        found.add("use_name")
    return found
