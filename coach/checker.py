"""The Python API of the rules layer: check a text, repair a text."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from enum import Enum
from functools import lru_cache, partial
from typing import Final

from coach.langdetect import ALIASES, FALLBACK, detect
from coach.schemas import CheckResult, Context, LanguageSource, Violation
from coach.settings import get_settings
from rules import Category, Finding, RuleKind, RuleSet, Severity, load_rules


class _Settings(Enum):
    DEFAULT = "settings"


# ``server_commitments`` left as is: COACH_ALLOWED_COMMITMENTS of the process's settings.
FROM_SETTINGS: Final = _Settings.DEFAULT
ServerCommitments = Collection[str] | None | _Settings

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
    # Every pack the text is checked with, ``language`` first (more than one when unsure).
    packs: tuple[str, ...] = ()

    @property
    def checked(self) -> tuple[str, ...]:
        return self.packs or (self.language,)


def _language_code(language: str) -> str:
    match = _LANGUAGE_TAG.match(language.strip())
    if not match:
        raise ValueError(f"not a language code: {language!r} (use ISO 639-1, e.g. en, tr, fi)")
    return match.group(1).lower()


def choose_language(
    text: str,
    language: str | None,
    ruleset: RuleSet,
    *,
    hint_language: str | None = None,
    customer_message: str | None = None,
) -> LanguageChoice:
    """The pack language(s) for ``text``: the given one when it has a pack, else detected.

    A short or ambiguous text is checked with every plausible pack. A hint (``hint_language``,
    or the language of ``customer_message``) settles such a text: the conversation's
    language comes first, the draft's plausible packs after it.
    """
    supported = ruleset.language_codes
    if language:
        code = _language_code(language)
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
    if not found.unsure:
        return LanguageChoice(found.language, found.source, found.detected, list(found.notes))
    hint = _hint(supported, hint_language, customer_message)
    if hint is None:
        return LanguageChoice(
            found.language, found.source, found.detected, list(found.notes), found.candidates
        )
    code, how = hint
    packs = (code, *(c for c in found.candidates if c != code))
    notes = [
        f"language detection is unsure for so short a text; {how} is {code}: checked with the "
        f"rules of {', '.join(packs)} and the language-neutral rules"
    ]
    return LanguageChoice(code, "hint", found.detected, notes, packs)


def _hint(
    supported: tuple[str, ...], hint_language: str | None, customer_message: str | None
) -> tuple[str, str] | None:
    """The conversation's pack language and how it is known, or None."""
    if hint_language:
        code = _language_code(hint_language)
        pack = ALIASES.get(code, code)
        return (pack, "the hint language") if pack in supported else None
    if customer_message and customer_message.strip():
        seen = detect(customer_message, supported)
        if seen.source == "detected" and not seen.unsure:
            return seen.language, "the customer's message"
    return None


SOFTENED_NOTE = " (a warning here: the same or the next sentence offers a way forward)"
DOUBTED_NOTE = (
    " (a warning here: the learned layer reads this sentence as fine for this category,"
    " score {score:.2f}; reread it before sending)"
)
UNCONFIRMED = (
    "Makes a commitment ({commitment}). No allowed_commitments were given, so whether "
    "you may promise it is unknown: make sure you are authorised before sending, or offer "
    "what you know is allowed (over-promise; a warning without the list, a block with it)."
)


def reported(found: Iterable[Violation], category: Category, start: int, end: int) -> bool:
    """Whether a finding in ``found`` already reports ``category`` overlapping [start, end):
    a later detector (the learned layer, the LLM review) then adds nothing there."""
    return any(v.category is category and v.start < end and start < v.end for v in found)


def to_violation(finding: Finding) -> Violation:
    rule = finding.rule
    message = rule.spec.message
    if finding.softened:
        message += SOFTENED_NOTE
    elif finding.unconfirmed and rule.spec.severity is Severity.BLOCK:
        message = UNCONFIRMED.format(commitment=rule.spec.commitment)
    elif finding.doubt is not None:
        message += DOUBTED_NOTE.format(score=finding.doubt)
    return Violation(
        rule=rule.id,
        category=rule.category,
        severity=finding.severity,
        start=finding.start,
        end=finding.end,
        text=finding.text,
        message=message,
        suggestion=finding.suggestion,
    )


def check(
    text: str,
    language: str | None = None,
    context: Context | None = None,
    *,
    categories: Collection[Category] | None = None,
    ruleset: RuleSet | None = None,
    hint_language: str | None = None,
    customer_message: str | None = None,
    detectors: Collection[str] | None = None,
    strict_commitments: bool = False,
    server_commitments: ServerCommitments = FROM_SETTINGS,
) -> CheckResult:
    """Check ``text`` against the rules of its language (detected when not given).

    A commitment (refund, replacement...) outside ``context.allowed_commitments`` blocks;
    with no list given it is a warning, unless ``strict_commitments`` (a text the service
    itself wrote, which is never authorised by itself). ``server_commitments`` is the list
    a context that says nothing gets (default: COACH_ALLOWED_COMMITMENTS; ``None``: none,
    for a caller that applied its own default already).

    >>> check("Please calm down.", "en").passed
    False
    """
    rs = ruleset or default_ruleset()
    choice = choose_language(
        text, language, rs, hint_language=hint_language, customer_message=customer_message
    )
    return check_with(
        text,
        choice,
        context,
        categories=categories,
        ruleset=rs,
        detectors=detectors,
        strict_commitments=strict_commitments,
        server_commitments=server_commitments,
    )


def default_commitments(
    context: Context | None, default: ServerCommitments = FROM_SETTINGS
) -> Context | None:
    """``context`` with the server's list (``default``, COACH_ALLOWED_COMMITMENTS unless
    given) when it says nothing itself."""
    if isinstance(default, _Settings):
        default = get_settings().allowed_commitments
    if default is None or (context is not None and context.commitments_known):
        return context
    return (context or Context()).model_copy(update={"allowed_commitments": list(default)})


def find_all(
    text: str,
    choice: LanguageChoice,
    ruleset: RuleSet,
    allowed: Collection[str] = (),
    categories: Collection[Category] | None = None,
    *,
    unconfirmed: bool = False,
    doubt: Callable[[list[Finding]], list[Finding]] | None = None,
) -> list[Finding]:
    """The findings of every pack of ``choice``, united, one per category and place.

    ``unconfirmed``: what the agent may promise is unknown, so a commitment rule's finding
    is a warning (before the merge: "I guarantee" inside a warned "I guarantee you a
    refund" still blocks). ``doubt`` (the learned layer's ``doubted``) may turn blocks
    into warnings, also before the merge.

    A finding is left out when another finding of its category covers its span and is at
    least as severe: the same span flagged by a later pack (or the neutral rules twice), or
    "never happen again" inside "this will never happen again" flagged by two rules of one
    pack. A blocking finding is never hidden by a warning around it. Shouting (a capitals
    rule: its own fix, lower case) is only ever merged with itself.
    """
    found: list[Finding] = []
    for pack in choice.checked:
        found.extend(ruleset.check(text, pack, allowed, categories))
    if unconfirmed:
        found = [
            replace(f, unconfirmed=True) if f.rule.spec.kind is RuleKind.COMMITMENT else f
            for f in found
        ]
    if doubt is not None:
        found = doubt(found)
    # Widest first at each start; at one span the blocking one first, then the earlier pack.
    order = sorted(
        range(len(found)),
        key=lambda i: (found[i].start, -found[i].end, not found[i].blocking, i),
    )
    kept: list[Finding] = []
    for i in order:
        f = found[i]
        if any(
            k.rule.category == f.rule.category
            and k.start <= f.start
            and f.end <= k.end
            and (k.blocking or not f.blocking)
            and (k.rule.id == f.rule.id or RuleKind.CAPITALS not in (k.rule.kind, f.rule.kind))
            for k in kept
        ):
            continue
        kept.append(f)
    return kept


def repair_all(
    text: str,
    choice: LanguageChoice,
    ruleset: RuleSet,
    allowed: Collection[str] = (),
    categories: Collection[Category] | None = None,
    max_rounds: int = 3,
) -> str:
    """The rules' deterministic fixes for every pack of ``choice``, one after the other."""
    for pack in choice.checked:
        text = ruleset.repair(text, pack, allowed, categories, max_rounds=max_rounds)
    return text


def check_with(
    text: str,
    choice: LanguageChoice,
    context: Context | None = None,
    *,
    categories: Collection[Category] | None = None,
    ruleset: RuleSet | None = None,
    detectors: Collection[str] | None = None,
    strict_commitments: bool = False,
    server_commitments: ServerCommitments = FROM_SETTINGS,
) -> CheckResult:
    """Check ``text`` with the pack(s) of an already made language choice.

    ``detectors`` (default COACH_DETECTORS): ``rules`` (the packs), ``model``
    (the learned layer, ``source: "model"`` findings) and/or ``semantic`` (the learned
    layer's meaning encoder, ``coach/semantic_layer.py``; warnings, also ``source: "model"``). ``strict_commitments``,
    ``server_commitments``: see check.
    """
    rs = ruleset or default_ruleset()
    use = get_settings().detectors if detectors is None else detectors
    context = default_commitments(context, server_commitments)
    allowed = context.authorised if context else ()
    unconfirmed = not strict_commitments and not (context and context.commitments_known)
    scores = doubt = None
    if "model" in use:
        from coach.learned_layer import doubted, model_violations, scored

        scores = scored(text, choice.language)
        # The model may temper a rule's block on the agent's text, never on the service's.
        if not strict_commitments:
            doubt = partial(doubted, scores=scores)
    findings = (
        find_all(text, choice, rs, allowed, categories, unconfirmed=unconfirmed, doubt=doubt)
        if "rules" in use
        else []
    )
    violations = [to_violation(f) for f in findings]
    if "model" in use:
        learned = model_violations(text, rs, scores, violations, categories, allowed)
        if learned:
            violations = sorted(violations + learned, key=lambda v: (v.start, v.end))
    notes = choice.notes
    if "semantic" in use:
        from coach.semantic_layer import semantic_violations

        notes = list(notes)
        if scores is None:  # the n-gram scores place a finding on one sentence
            from coach.learned_layer import scored

            scores = scored(text, choice.language)
        meant = semantic_violations(
            text, choice.language, rs, violations, categories, allowed, scores, notes
        )
        if meant:
            violations = sorted(violations + meant, key=lambda v: (v.start, v.end))
    return CheckResult(
        language=choice.language,
        passed=not any(v.severity == "block" for v in violations),
        violations=violations,
        detected_language=choice.detected,
        language_source=choice.source,
        checked_languages=list(choice.checked),
        notes=notes,
    )


def repair_text(
    text: str,
    language: str | None = None,
    context: Context | None = None,
    *,
    ruleset: RuleSet | None = None,
    max_rounds: int = 3,
    server_commitments: ServerCommitments = FROM_SETTINGS,
) -> tuple[str, CheckResult]:
    """Apply the rules' deterministic fixes until the text passes (or rounds run out).

    Returns the repaired text and its final CheckResult; callers must look at
    ``passed``: a text whose every sentence breaks a rule can come back empty.
    The text is the service's, so a commitment outside ``allowed_commitments`` (or
    ``server_commitments`` when the context says nothing) is repaired away.
    """
    rs = ruleset or default_ruleset()
    choice = choose_language(text, language, rs)
    context = default_commitments(context, server_commitments)
    allowed = context.authorised if context else ()
    repaired = repair_all(text, choice, rs, allowed, max_rounds=max_rounds)
    result = check_with(
        repaired, choice, context, ruleset=rs, strict_commitments=True, server_commitments=None
    )
    return repaired, result
