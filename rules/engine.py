"""The rules engine: compiled rules, the check loop and the deterministic repair.

The hot path is plain ``re`` over folded text: each pattern keeps its literal
prefix so CPython's regex engine skips ahead with a fast substring search,
and word-boundary, exception and quotation checks only run on the rare
candidate match.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from rules.model import Category, RuleKind, RulePublic, RuleSpec, Severity
from rules.normalize import Folded, fold
from rules.pattern import at_boundaries

NEUTRAL = "neutral"


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: str
    language: str
    category: Category
    spec: RuleSpec
    patterns: tuple[re.Pattern[str], ...]
    exceptions: tuple[re.Pattern[str], ...]
    source: str
    origin: str
    file: str

    @property
    def severity(self) -> Severity:
        return self.spec.severity

    @property
    def kind(self) -> RuleKind:
        return self.spec.kind

    def public(self) -> RulePublic:
        return RulePublic(
            id=self.id,
            language=self.language,
            category=self.category,
            severity=self.spec.severity,
            kind=self.spec.kind,
            patterns=self.spec.patterns,
            exceptions=self.spec.exceptions,
            message=self.spec.message,
            suggestion=self.spec.suggestion,
            commitment=self.spec.commitment,
            source=self.source,
            origin="custom" if self.origin == "custom" else "builtin",
            file=self.file,
        )


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule matching one span of the input (offsets into the input)."""

    rule: CompiledRule
    start: int
    end: int
    text: str
    suggestion: str | None = None

    @property
    def blocking(self) -> bool:
        return self.rule.spec.severity is Severity.BLOCK


# --- spans that are not the agent's own words -------------------------------

_QUOTED = re.compile(
    r"\"[^\"\n]{1,300}\""
    r"|“[^”\n]{1,300}”"
    r"|„[^“”\n]{1,300}[“”]"
    r"|«[^»\n]{1,300}»"
    r"|‘[^’\n]{1,300}’(?!\w)"
    r"|(?<!\w)'[^'\n]{1,300}'(?!\w)"
    r"|^[ \t]*>[^\n]*",  # an email's quoted line
    re.MULTILINE,
)


# Addresses and handles are not prose: "/s" in a URL is no sarcasm marker.
_NOT_PROSE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\w+|(?<!\w)[@#]\w+")


def ignored_spans(text: str) -> list[tuple[int, int]]:
    """Spans that are not the agent's own words: quotations, URLs, e-mail addresses, handles."""
    spans = [m.span() for m in _QUOTED.finditer(text)]
    spans.extend(m.span() for m in _NOT_PROSE.finditer(text))
    return spans


# --- sentences and capitals ---------------------------------------------------

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?…]+|$)|[.!?…]+", re.MULTILINE)
_NOT_WORDS = re.compile(r"https?://\S+|www\.\S+|[@#]\w+|\S+@\S+")


def _upper_class() -> str:
    ranges = [(0x41, 0x250), (0x370, 0x400), (0x400, 0x530)]
    chars = [chr(c) for lo, hi in ranges for c in range(lo, hi) if chr(c).isupper()]
    return "".join(re.escape(c) for c in chars)


_UPPER = _upper_class()
# Two or more all-capital words in a row: the cheap trigger for the capitals rule.
_CAPS_RUN = re.compile(f"[{_UPPER}]{{2,}}(?:[^\\w\\n]+[{_UPPER}]{{2,}})+")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans with surrounding whitespace trimmed."""
    spans = []
    for m in _SENTENCE.finditer(text):
        start, end = m.span()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


def lower_for(language: str, text: str) -> str:
    """Lower case that is right for Turkish (I -> ı) and never leaves a stray combining dot."""
    if language in {"tr", "az"}:
        text = text.replace("I", "ı")
    return text.replace("İ", "i").lower()


def sentence_case(language: str, sentence: str) -> str:
    """'WHY IS THIS STILL BROKEN?' -> 'Why is this still broken?' (Turkish-aware)."""
    lowered = lower_for(language, sentence)
    for i, ch in enumerate(lowered):
        if ch.isalpha():
            first = "İ" if (ch == "i" and language in {"tr", "az"}) else ch.upper()
            return lowered[:i] + first + lowered[i + 1 :]
    return lowered


def _shouting(text: str, rule: CompiledRule, language: str) -> list[Finding]:
    if not _CAPS_RUN.search(text):
        return []
    params = rule.spec.capitals
    min_letters = params.min_letters if params else 12
    min_ratio = params.min_ratio if params else 0.75
    min_words = params.min_words if params else 2
    findings = []
    for start, end in sentence_spans(text):
        sentence = _NOT_WORDS.sub(" ", text[start:end])
        letters = [c for c in sentence if c.isalpha()]
        if len(letters) < min_letters:
            continue
        upper = sum(1 for c in letters if c.isupper())
        caps_words = sum(
            1 for w in re.findall(r"[^\W\d_]{3,}", sentence) if w.isupper()
        )
        if upper / len(letters) >= min_ratio and caps_words >= min_words:
            original = text[start:end]
            findings.append(
                Finding(rule, start, end, original, suggestion=sentence_case(language, original))
            )
    return findings


# --- the rule set -------------------------------------------------------------


@dataclass
class RuleSet:
    """Every loaded rule, grouped by language; neutral rules apply to all."""

    rules: list[CompiledRule]
    _by_language: dict[str, list[CompiledRule]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        grouped: dict[str, list[CompiledRule]] = defaultdict(list)
        for rule in self.rules:
            grouped[rule.language].append(rule)
        neutral = grouped.get(NEUTRAL, [])
        self._by_language = {
            lang: rules + neutral for lang, rules in grouped.items() if lang != NEUTRAL
        }
        self._by_language[NEUTRAL] = list(neutral)

    @property
    def languages(self) -> list[str]:
        """Languages with their own packs (neutral rules excluded)."""
        return sorted(lang for lang in self._by_language if lang != NEUTRAL)

    def rules_for(self, language: str) -> list[CompiledRule]:
        return self._by_language.get(language, self._by_language[NEUTRAL])

    def get(self, rule_id: str) -> CompiledRule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def check(
        self,
        text: str,
        language: str,
        allowed_commitments: Collection[str] = (),
        categories: Collection[Category] | None = None,
    ) -> list[Finding]:
        """All findings in ``text`` for ``language``'s rules plus the neutral ones."""
        doc = fold(text)
        findings: list[Finding] = []
        quoted: list[tuple[int, int]] | None = None
        for rule in self.rules_for(language):
            if categories is not None and rule.category not in categories:
                continue
            kind = rule.spec.kind
            if kind is RuleKind.CAPITALS:
                findings.extend(_shouting(text, rule, language))
                continue
            if kind is RuleKind.COMMITMENT and rule.spec.commitment in allowed_commitments:
                continue
            for start, end in self._matches(doc, rule):
                if quoted is None:
                    quoted = ignored_spans(text)
                if any(qs <= start and end <= qe for qs, qe in quoted):
                    continue
                findings.append(Finding(rule, start, end, text[start:end], rule.spec.suggestion))
        return _dedupe(findings)

    @staticmethod
    def _matches(doc: Folded, rule: CompiledRule) -> Iterable[tuple[int, int]]:
        folded = doc.folded
        exception_spans: list[tuple[int, int]] | None = None
        for pattern in rule.patterns:
            for m in pattern.finditer(folded):
                start, end = m.span()
                if rule.spec.boundary and not at_boundaries(folded, start, end):
                    continue
                if rule.exceptions:
                    if exception_spans is None:
                        exception_spans = [
                            x.span() for ex in rule.exceptions for x in ex.finditer(folded)
                        ]
                    if any(xs < end and start < xe for xs, xe in exception_spans):
                        continue
                yield doc.to_original(start, end)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """One finding per rule per place: overlapping matches of a rule keep the longest."""
    findings.sort(key=lambda f: (f.start, -(f.end - f.start)))
    kept: list[Finding] = []
    last_end: dict[str, int] = {}
    for f in findings:
        if f.start < last_end.get(f.rule.id, -1):
            continue
        kept.append(f)
        last_end[f.rule.id] = f.end
    return kept


# --- deterministic repair -----------------------------------------------------

_SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([,.;:!?])")
_MULTISPACE = re.compile(r"[ \t]{2,}")
_BLANK_LINES = re.compile(r"\n{3,}")


def _sentence_at(text: str, start: int, end: int) -> tuple[int, int]:
    for s, e in sentence_spans(text):
        if s <= start < e or (s < end <= e):
            return s, max(e, end)
    return start, end


def _is_sentence_start(text: str, start: int) -> bool:
    before = text[:start].rstrip()
    return not before or before[-1] in ".!?\n:"


def repair(text: str, findings: Iterable[Finding], language: str) -> str:
    """Fix blocking findings without mangling the text.

    Capitals become sentence case; substitution rules swap the span for their
    suggestion; any other blocking phrase takes its whole sentence out, since
    cutting words out of a sentence ("Please c now") leaves nonsense.
    """
    edits: list[tuple[int, int, str]] = []
    for f in findings:
        if not f.blocking:
            continue
        kind = f.rule.spec.kind
        if kind is RuleKind.CAPITALS:
            edits.append((f.start, f.end, f.suggestion or sentence_case(language, f.text)))
        elif kind is RuleKind.SUBSTITUTION and f.suggestion:
            replacement = f.suggestion
            if _is_sentence_start(text, f.start):
                replacement = replacement[:1].upper() + replacement[1:]
            edits.append((f.start, f.end, replacement))
        else:
            s, e = _sentence_at(text, f.start, f.end)
            edits.append((s, e, ""))
    if not edits:
        return text
    # Merge overlapping edits: a sentence removal wins over edits inside it.
    edits.sort(key=lambda e: (e[0], -(e[1] - e[0])))
    merged: list[tuple[int, int, str]] = []
    for edit in edits:
        if merged and edit[0] < merged[-1][1]:
            prev = merged[-1]
            if prev[2] == "" or edit[2] == "":
                # A removal absorbs whatever overlaps it.
                merged[-1] = (prev[0], max(prev[1], edit[1]), "")
            # Two overlapping replacements: the first (longer) one stands.
            continue
        merged.append(edit)
    out = text
    for start, end, replacement in reversed(merged):
        out = out[:start] + replacement + out[end:]
    out = _SPACE_BEFORE_PUNCT.sub(r"\1", out)
    out = _MULTISPACE.sub(" ", out)
    out = _BLANK_LINES.sub("\n\n", out)
    return "\n".join(line.strip() for line in out.strip().split("\n"))
