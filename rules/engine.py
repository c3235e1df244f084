"""The rules engine: compiled rules, the check loop and the deterministic repair.

The hot path is plain ``re`` over folded text: each pattern keeps its literal
prefix so CPython's regex engine skips ahead with a fast substring search,
and word-boundary, exception and quotation checks only run on the rare
candidate match.
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from rules import packcache
from rules.model import Category, RuleKind, RulePublic, RuleSpec, Severity
from rules.multi import PatternSet, SetTooLarge, available
from rules.normalize import Folded, fold
from rules.pattern import Regex, at_boundaries, compiled, is_word_char
from rules.prefilter import (
    AnchorPlan,
    Prefilter,
    plan_from_json,
    plan_to_json,
    plan_windows,
)
from rules.prefilter import plan as anchor_plan

NEUTRAL = "neutral"
log = logging.getLogger("coach.rules")
# Candidate patterns come from one RE2 pass when google-re2 is installed (a dependency),
# else from the Aho-Corasick prefilter alone; tests compare the two.
USE_RE2 = available()
# A language's first checks search every pattern; its indexes are built after this many.
EAGER_AFTER = 8
# The regex parser CPython's re uses (private, hence looked up like rules/prefilter.py does).
sre_parse: Any = importlib.import_module("re._parser")


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: str
    language: str
    category: Category
    spec: RuleSpec
    patterns: tuple[Regex, ...]
    exceptions: tuple[Regex, ...]
    source: str
    origin: str
    file: str
    # The pack's and the rule's ``softened_by``: offers of a way forward that turn a block
    # into a warning.
    softeners: tuple[Regex, ...] = ()
    # How far from a finding each exception is looked for (``exception_reach``).
    exception_reach: tuple[int, ...] = ()
    # The pack's ``when_softened: pass``: a softened finding is no finding at all.
    softened_passes: bool = False

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
    # A blocking rule's finding next to an offer of a way forward (the pack's softened_by).
    softened: bool = False
    # A commitment checked without knowing what the agent may promise (no allowed list).
    unconfirmed: bool = False
    # The learned layer's score for this category on a sentence it reads as fine: a
    # blocking rule's finding there is kept as a warning (coach/learned_layer.py, DOUBT).
    doubt: float | None = None

    @property
    def severity(self) -> Severity:
        return Severity.BLOCK if self.blocking else Severity.WARN

    @property
    def blocking(self) -> bool:
        return (
            not (self.softened or self.unconfirmed or self.doubt is not None)
            and self.rule.spec.severity is Severity.BLOCK
        )


# --- spans that are not the agent's own words -------------------------------

# Each form starts with its own literal, so the regex engine can skip ahead.
_QUOTED = [
    ('"', re.compile(r'"[^"\n]{1,300}"')),
    ("“", re.compile(r"“[^”\n]{1,300}”")),
    ("”", re.compile(r"”[^”“\n]{1,300}”")),  # Finnish and Swedish: ”…”
    ("„", re.compile(r"„[^“”\"\n]{1,300}[“”\"]")),  # German, Romanian: „…“ „…” „…"
    ("«", re.compile(r"«[^»\n]{1,300}»")),
    ("»", re.compile(r"»[^«»\n]{1,300}[«»]")),  # German »…«, Finnish »…»
    ("‹", re.compile(r"‹[^›\n]{1,300}›")),
    ("‚", re.compile(r"‚[^‘’\n]{1,300}[‘’]")),  # German single: ‚…‘
    ("‘", re.compile(r"‘[^’\n]{1,300}’(?!\w)")),
    # Finnish single ’…’: the same character is an apostrophe inside words (don’t).
    ("’", re.compile(r"’(?<!\w’)[^’\n]{1,300}’(?!\w)")),
    # The literal comes first so the scan can skip ahead; the look-behind then checks
    # the character before it (an apostrophe inside a word is no quotation mark).
    ("'", re.compile(r"'(?<!\w')[^'\n]{1,300}'(?!\w)")),
    (">", re.compile(r"^[ \t]*>[^\n]*", re.MULTILINE)),  # an email's quoted line
]
# Addresses and handles are not prose: "/s" in a URL is no sarcasm marker.
_NOT_PROSE = [
    ("://", re.compile(r"https?://\S+")),
    ("www.", re.compile(r"www\.\S+")),
    ("@", re.compile(r"@[\w-]+(?:\.[\w-]+)*")),  # widened to the left below (e-mail addresses)
    ("#", re.compile(r"#(?<!\w#)\w+")),
]


def ignored_spans(text: str) -> list[tuple[int, int]]:
    """Spans that are not the agent's own words: quotations, URLs, e-mail addresses, handles."""
    spans: list[tuple[int, int]] = []
    for marker, regex in (*_QUOTED, *_NOT_PROSE):
        if marker not in text:
            continue
        if marker == "»" and "«" in text and text.index("«") < text.index("»"):
            continue  # French «…»: this » closes a quotation, it opens none
        for m in regex.finditer(text):
            start = m.start()
            if marker == "@":
                while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "._+-"):
                    start -= 1
            spans.append((start, m.end()))
    return spans


# --- sentences and capitals ---------------------------------------------------

# A sentence ends at . ! ? … followed by a space or the end; "shop.example.com",
# "3.5" and "e.g.x" stay inside their sentence.
_SENTENCE = re.compile(r"(?:[^.!?…\n]|[.!?…]+(?=[^\s.!?…]))+(?:[.!?…]+|$)|[.!?…]+", re.MULTILINE)
_NOT_WORDS = re.compile(r"https?://\S+|www\.\S+|[@#]\w+|\S+@\S+")


def _upper_class() -> str:
    ranges = [(0x41, 0x250), (0x370, 0x400), (0x400, 0x530)]
    chars = [chr(c) for lo, hi in ranges for c in range(lo, hi) if chr(c).isupper()]
    return "".join(re.escape(c) for c in chars)


_UPPER = _upper_class()
# Two or more all-capital words in a row: the cheap trigger for the capitals rule.
_CAPS_RUN = re.compile(f"[{_UPPER}]{{2,}}(?:[^\\w\\n]+[{_UPPER}]{{2,}})+")
# Two capitals side by side: a third of _CAPS_RUN's cost on text that has none (its first
# item is a plain character set, which the regex engine scans for in a tight loop).
_CAPS_PAIR = re.compile(f"[{_UPPER}][{_UPPER}]")


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


_SENTENCE_END = re.compile(r"[.!?…]+|\n")


def _sentence_around(text: str, pos: int) -> tuple[int, int]:
    """The trimmed sentence containing ``pos`` (cheap: no scan of the whole text)."""
    start = max(text.rfind(c, 0, pos) for c in ".!?…\n") + 1
    m = _SENTENCE_END.search(text, pos)
    end = m.end() if m else len(text)
    if m and m.group() == "\n":
        end = m.start()
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


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
    params = rule.spec.capitals
    if params is not None and params.scope == "word":
        return _shouted_words(text, rule, language)
    if not _CAPS_PAIR.search(text) or not _CAPS_RUN.search(text):
        return []
    min_letters = params.min_letters if params else 12
    min_ratio = params.min_ratio if params else 0.75
    min_words = params.min_words if params else 2
    findings = []
    seen_end = -1
    for run in _CAPS_RUN.finditer(text):
        if run.start() < seen_end:
            continue
        start, end = _sentence_around(text, run.start())
        seen_end = end
        sentence = _NOT_WORDS.sub(" ", text[start:end])
        letters = [c for c in sentence if c.isalpha()]
        if len(letters) < min_letters:
            continue
        upper = sum(1 for c in letters if c.isupper())
        caps_words = sum(1 for w in re.findall(r"[^\W\d_]{3,}", sentence) if w.isupper())
        if upper / len(letters) >= min_ratio and caps_words >= min_words:
            original = text[start:end]
            findings.append(
                Finding(rule, start, end, original, suggestion=sentence_case(language, original))
            )
    return findings


_CAPS_WORDS: dict[int, re.Pattern[str]] = {}
# Vowels (folded and not) of the packs' languages: a short capitals word without two of them
# is an acronym (WLAN, HTML, SMS), not a shouted word.
_VOWELS = frozenset("aeiouyäöüåâîăéèêëáíóúàìòùıœæ")


def _caps_word(min_letters: int) -> re.Pattern[str]:
    found = _CAPS_WORDS.get(min_letters)
    if found is None:
        # No look-behind in front: a leading character set keeps the regex engine's fast scan;
        # a run that starts inside a word is skipped by the caller.
        found = re.compile(f"[{_UPPER}]{{{min_letters},}}(?!\\w)")
        _CAPS_WORDS[min_letters] = found
    return found


def _shouted_words(text: str, rule: CompiledRule, language: str) -> list[Finding]:
    """Words written in capitals for emphasis in a sentence that is not ("I have ALREADY
    told you"): acronyms and codes (fewer than two vowels, or under a quarter vowels), the
    rule's ``ignore`` list, quotations and addresses aside; a sentence mostly in capitals is
    the sentence rule's."""
    if not _CAPS_PAIR.search(text):
        return []
    params = rule.spec.capitals
    assert params is not None
    ignore = {w.casefold() for w in params.ignore}
    findings: list[Finding] = []
    spans: list[tuple[int, int]] | None = None
    for m in _caps_word(max(2, params.min_letters)).finditer(text):
        if m.start() > 0 and is_word_char(text[m.start() - 1]):
            continue  # the end of a word in mixed case ("McDONALD")
        word = m.group()
        lowered = word.casefold()
        if lowered in ignore:
            continue
        vowels = sum(1 for c in lowered if c in _VOWELS)
        if vowels < 2 or vowels < 0.25 * len(word):
            continue  # an acronym or a code (WLAN, HTML, a booking reference)
        start, end = _sentence_around(text, m.start())
        letters = [c for c in text[start:end] if c.isalpha()]
        if sum(1 for c in letters if c.isupper()) >= 0.5 * len(letters):
            continue
        if spans is None:
            spans = ignored_spans(text)
        if any(qs <= m.start() and m.end() <= qe for qs, qe in spans):
            continue
        findings.append(Finding(rule, m.start(), m.end(), word, lower_for(language, word)))
    return findings


# --- the rule set -------------------------------------------------------------


class RuleSet:
    """Every loaded rule, grouped by language; neutral rules apply to all.

    A language's rules may come as a function that builds them (the loader does
    this for the built-in packs): its ~300 regexes are compiled on the first check
    in that language, so a one-off ``coach check`` compiles one pack and the
    neutral rules, not all nine. ``rules``, ``compile_all()`` and ``get()`` build
    what they need; ``coach serve`` compiles everything at start-up.
    """

    def __init__(
        self,
        rules: Iterable[CompiledRule] = (),
        pending: Mapping[str, Callable[[], list[CompiledRule]]] | None = None,
    ) -> None:
        own: dict[str, list[CompiledRule]] = defaultdict(list)
        for rule in rules:
            own[rule.language].append(rule)
        self._own: dict[str, list[CompiledRule]] = dict(own)
        self._pending: dict[str, Callable[[], list[CompiledRule]]] = dict(pending or {})
        overlap = self._own.keys() & self._pending.keys()
        if overlap:
            raise ValueError(f"languages given both built and pending: {sorted(overlap)}")
        self._order = sorted(self._own.keys() | self._pending.keys())
        self._by_language: dict[str, list[CompiledRule]] = {}
        self._indexes: dict[str, _LanguageIndex] = {}
        self._lock = threading.Lock()
        # How candidates are chosen (module settings when the set is made; tests vary them).
        self._use_re2 = USE_RE2
        self._eager_after = EAGER_AFTER
        # A one-off check uses the prefilter when the pack cache keeps its plans.
        self._cached = packcache.cache_dir() is not None
        # Asked on every check (language choice): sorted once, here.
        self._languages = tuple(lang for lang in self._order if lang != NEUTRAL)

    def _built(self, language: str) -> list[CompiledRule]:
        """``language``'s own rules (not the neutral ones), compiled on first use."""
        found = self._own.get(language)
        if found is None:
            with self._lock:
                found = self._own.get(language)
                if found is None:
                    build = self._pending.get(language)
                    found = build() if build is not None else []
                    self._own[language] = found
                    self._pending.pop(language, None)
        return found

    @property
    def rules(self) -> list[CompiledRule]:
        """Every rule of every language (compiles whatever is still pending)."""
        return [rule for lang in self._order for rule in self._built(lang)]

    @property
    def compiled_languages(self) -> tuple[str, ...]:
        """The languages (and ``neutral``) whose regexes are compiled so far."""
        return tuple(lang for lang in self._order if lang in self._own)

    def compile_all(self) -> int:
        """Compile every pending pack and build every language's indexes now (a server at
        start-up); the number of rules."""
        for language in (*self._languages, NEUTRAL):
            self._index_for(language).warm()
        return len(self.rules)

    @property
    def languages(self) -> list[str]:
        """Languages with their own packs (neutral rules excluded)."""
        return list(self._languages)

    @property
    def language_codes(self) -> tuple[str, ...]:
        """The same, as the tuple language detection takes (no copy)."""
        return self._languages

    def rules_for(self, language: str) -> list[CompiledRule]:
        """``language``'s rules and the neutral ones (only the neutral ones for a language
        without a pack)."""
        found = self._by_language.get(language)
        if found is None:
            key = language if language in self._languages else NEUTRAL
            found = self._by_language.get(key)
            if found is None:
                own = self._built(key) if key != NEUTRAL else []
                found = own + self._built(NEUTRAL)
                self._by_language[key] = found
        return found

    def get(self, rule_id: str) -> CompiledRule | None:
        language = rule_id.partition(".")[0]
        if language not in self._order:
            return None
        return next((r for r in self._built(language) if r.id == rule_id), None)

    def check(
        self,
        text: str,
        language: str,
        allowed_commitments: Collection[str] = (),
        categories: Collection[Category] | None = None,
    ) -> list[Finding]:
        """All findings in ``text`` for ``language``'s rules plus the neutral ones."""
        index = self._index_for(language)
        doc = fold(text)
        folded = doc.folded
        findings: list[Finding] = []
        ignored: list[tuple[int, int]] | None = None
        for rule in index.capitals:
            if categories is None or rule.category in categories:
                findings.extend(_shouting(text, rule, language))
        entries = index.entries
        for keys, windows in index.candidates(folded):
            for key in keys:
                rule, search, boundary, commitment, exceptions = entries[key]
                if categories is not None and rule.category not in categories:
                    continue
                if commitment is not None and commitment in allowed_commitments:
                    continue
                for lo, hi in windows:
                    for start, end in _matches(search, folded, lo, hi, boundary):
                        if exceptions and _excepted(exceptions, folded, start, end):
                            continue
                        softened = bool(rule.softeners) and _softened(rule, folded, start)
                        if softened and rule.softened_passes:
                            continue
                        at = start, end
                        start, end = doc.to_original(start, end)
                        if ignored is None:
                            ignored = ignored_spans(text)
                        if ignored and _quoted(
                            doc,
                            ignored,
                            (start, end),
                            at,
                            partial(_matches, search, lo=lo, hi=hi, boundary=boundary),
                        ):
                            continue
                        findings.append(
                            Finding(
                                rule, start, end, text[start:end], rule.spec.suggestion, softened
                            )
                        )
        return _dedupe(findings)

    def repair(
        self,
        text: str,
        language: str,
        allowed_commitments: Collection[str] = (),
        categories: Collection[Category] | None = None,
        max_rounds: int = 3,
    ) -> str:
        """Apply the deterministic fixes (see ``repair``) until no blocking finding is left.

        A text whose every sentence breaks a rule can come back empty; callers
        check the result again when it matters.
        """
        current = text
        for _ in range(max_rounds):
            findings = self.check(current, language, allowed_commitments, categories)
            if not any(f.blocking for f in findings):
                break
            current = repair(current, findings, language)
        return current

    def _index_for(self, language: str) -> _LanguageIndex:
        key = language if language in self._languages else NEUTRAL
        index = self._indexes.get(key)
        if index is None:
            rules = self.rules_for(key)
            pairs = [(r, p) for r in rules for p in r.patterns]
            exceptions = {r.id: _exception_checks(r) for r in rules}
            index = _LanguageIndex(
                tuple(rules),
                tuple(r for r in rules if r.spec.kind is RuleKind.CAPITALS),
                [
                    (
                        r,
                        p.search,
                        r.spec.boundary,
                        r.spec.commitment if r.spec.kind is RuleKind.COMMITMENT else None,
                        exceptions[r.id],
                    )
                    for r, p in pairs
                ],
                [p for _, p in pairs],
                self._use_re2,
                self._eager_after,
                self._cached,
            )
            self._indexes[key] = index
        return index


_Search = Callable[[str, int, int], "re.Match[str] | None"]


_UNBUILT: Any = object()


@dataclass(slots=True)
class _LanguageIndex:
    """What the check loop needs of a language's rules, looked up once, not per check
    (an enum member is a property lookup on Python 3.11: ~0.1 µs each time)."""

    rules: tuple[CompiledRule, ...]
    capitals: tuple[CompiledRule, ...]
    # Per prefilter key: the rule, its pattern's search, whether matches must sit at word
    # boundaries, the commitment id that context can allow (commitment rules only), and
    # the rule's exceptions.
    entries: list[tuple[CompiledRule, _Search, bool, str | None, _Exceptions]]
    patterns: list[Regex]
    use_re2: bool
    eager_after: int
    cached: bool
    # Built when first needed (see ``candidates``), and the checks that ran before.
    _multi: PatternSet | None = _UNBUILT
    _prefilter: Prefilter | None = None
    _checks: int = 0
    # Per pattern: its anchor plan when it is searched around its anchors, else None.
    _plans: list[AnchorPlan | None] | None = None

    def candidates(self, folded: str) -> list[tuple[tuple[int, ...], list[tuple[int, int]]]]:
        """(pattern keys, windows to search them in) for a folded text.

        A language's first ``eager_after`` checks: with the pack cache on
        (``rules.packcache``), the Aho-Corasick prefilter (rules/prefilter.py), its anchor
        plans read from the cache, names the patterns to compile and search; with the
        cache off, every pattern (already compiled by the loader) is searched in the
        whole text. After that one RE2 pass names the few patterns that can match
        (rules/multi.py); without RE2, or when RE2 gives no answer for a text, the
        prefilter does. All ways find the same.

        A candidate that does not start with its anchor (``(?:sage|sagte|...) ... zum
        dritten mal``) is searched only around its anchors, found with ``str.find``: CPython
        would otherwise try it at nearly every position (de prose 160 -> 77 us). One
        Aho-Corasick pass for all of them was measured slower than it saves.
        """
        found: list[int] | None = None
        if self._multi is _UNBUILT and self._checks < self.eager_after:
            self._checks += 1
            if self._prefilter is None and not self.cached:
                return [(tuple(range(len(self.patterns))), [(0, len(folded))])]
        else:
            found = self.multi.candidates(folded) if self.multi is not None else None
        if found is None:
            # In pattern order, as the other two ways give them: findings of two rules on
            # one span then come in pack order, whichever way chose them.
            by_key = [(key, w) for keys, w in self.prefilter.windows(folded) for key in keys]
            return [((key,), w) for key, w in sorted(by_key, key=lambda kw: kw[0])]
        if not found:
            return []
        plans = self._plans
        if plans is None:
            plans = self._plans = [
                e.plan if _starts_loose(e.plan) else None for e in self.prefilter.entries
            ]
        whole = [(0, len(folded))]
        out: list[tuple[tuple[int, ...], list[tuple[int, int]]]] = []
        for key in found:
            plan = plans[key]
            out.append(((key,), whole if plan is None else plan_windows(plan, folded)))
        return out

    def warm(self) -> None:
        """Build the indexes now (a server at start-up), not after the first checks, and
        compile every regex still waiting for its first use."""
        self.multi  # noqa: B018 (built now, not on the first check)
        self.prefilter.windows("")
        self._checks = self.eager_after
        exceptions = {rule.id: _exception_checks(rule, resolve=True) for rule in self.rules}
        for i, (rule, _search, boundary, commitment, _x) in enumerate(self.entries):
            self.entries[i] = (
                rule,
                compiled(self.patterns[i]).search,
                boundary,
                commitment,
                exceptions[rule.id],
            )

    def _build_prefilter(self) -> Prefilter:
        """The prefilter, its anchor plans read from the pack cache when it holds them
        (milliseconds), else worked out (0.3-0.4 s a language) and written there."""
        sample = self._sample()
        key = packcache.digest([], sample, *(p.pattern for p in self.patterns))
        cached = packcache.load("plans", key)
        if isinstance(cached, list) and len(cached) == len(self.patterns):
            return Prefilter(self.patterns, plans=[plan_from_json(x) for x in cached])
        built = Prefilter(self.patterns, sample)
        packcache.save("plans", key, [plan_to_json(e.plan) for e in built.entries])
        return built

    def _sample(self) -> str:
        # The rules' own example lines stand in for typical text of the language when the
        # prefilter weighs how often an anchor would fire.
        examples = (x for r in self.rules for x in (*r.spec.examples.flag, *r.spec.examples.pass_))
        return fold("\n".join(examples)).folded

    @property
    def multi(self) -> PatternSet | None:
        if self._multi is _UNBUILT:
            self._multi = None
            if self.use_re2:
                try:
                    self._multi = PatternSet([(p.pattern, p.flags) for p in self.patterns])
                except SetTooLarge as exc:
                    log.warning("%s; the Aho-Corasick prefilter chooses instead", exc)
        return self._multi

    @property
    def prefilter(self) -> Prefilter:
        if self._prefilter is None:
            self._prefilter = self._build_prefilter()
        return self._prefilter


# An exception: its pattern's finditer, how far from a finding it is looked for, and for an
# exception that can only match from a few positions (a sentence-wide ``[^.!?]*...``, or
# one anchored at a sentence start, ``(?:^|(?<=[.!?;]))...``) a test tried only there.
_RunMatch = Callable[[str, int, int], "re.Match[str] | None"]
_Special = Callable[[str, int, int, int, int], bool]


class _Exception:
    """One exception of a rule, ready for ``_excepted``."""

    __slots__ = ("_gate", "finditer", "pattern", "reach", "special")

    def __init__(
        self,
        finditer: Callable[[str, int, int], Iterator[re.Match[str]]],
        reach: int,
        special: _Special | None,
        pattern: str,
    ) -> None:
        self.finditer = finditer
        self.reach = reach
        self.special = special
        self.pattern = pattern
        self._gate: tuple[str, ...] | None = None

    def gate(self) -> tuple[str, ...]:
        """Literals one of which every match contains, when the pattern does not begin with
        a literal of its own (the regex engine skips ahead to that one by itself): a window
        holding none of them cannot match, and ``str.find`` says so for a fraction of a
        regex scan. Worked out on first use (``coach check`` meets few exceptions)."""
        if self._gate is None:
            if not RUN_START_EXCEPTIONS:
                self._gate = ()
                return self._gate
            found = anchor_plan(self.pattern)
            self._gate = (
                tuple(sorted(found.anchors)) if found.anchors and _starts_loose(found) else ()
            )
        return self._gate


_Exceptions = tuple[_Exception, ...]
# Those exceptions are tried only where they can start (see ``_run_excepted`` and
# ``_start_excepted``); False scans every position like any other exception (the tests
# compare the two).
RUN_START_EXCEPTIONS = True
_RUN_PREFIX = "[^.!?]*"
_START_PREFIX = "(?:^|(?<=[.!?;]))"
_START_STOPS = ".!?;"
_START_STOP = re.compile("[.!?;]")
_RUN_STOPS = ".!?"
_RUN_STOP = re.compile("[.!?]")
_EXCEPTION_REACH = 200  # characters either side of a finding, at most
_LOOKAROUND_MARGIN = 32  # room for look-arounds beyond an exception's own longest match


def exception_reach(exception: Regex) -> int:
    """How far from a finding an exception is looked for: a match overlapping the finding
    starts at most its longest match before the finding's end, so a short exception scans
    a short window (most are phrases of under 60 characters) instead of 200 characters
    either side."""
    longest = sre_parse.parse(exception.pattern, exception.flags).getwidth()[1]
    return min(_EXCEPTION_REACH, int(longest) + _LOOKAROUND_MARGIN)


def _starts_loose(plan: AnchorPlan) -> bool:
    """Whether a pattern is better searched around its anchors: it has anchors, and a
    match does not start with one literal anchor (CPython's regex scan skips ahead to
    that, but not to a literal behind an assertion: ``(?<!\\w)/s``, ``\\b...`` are tried
    at every position, en prose 136 us for that one pattern)."""
    return plan.anchors is not None and not (plan.literal_start and len(plan.anchors) == 1)


def _exception_checks(rule: CompiledRule, resolve: bool = False) -> _Exceptions:
    """Each exception's finditer (compiled first with ``resolve``) and reach."""
    reaches = rule.exception_reach
    if len(reaches) != len(rule.exceptions):
        reaches = tuple(exception_reach(x) for x in rule.exceptions)
    out = []
    for x, reach in zip(rule.exceptions, reaches, strict=True):
        regex = compiled(x) if resolve else x
        special: _Special | None = None
        if RUN_START_EXCEPTIONS and _led_by(x, _RUN_PREFIX):
            special = partial(_run_excepted, regex.match)
        elif RUN_START_EXCEPTIONS and _led_by(x, _START_PREFIX):
            special = partial(_start_excepted, regex.match)
        out.append(_Exception(regex.finditer, reach, special, x.pattern))
    return tuple(out)


def _led_by(exception: Regex, prefix: str) -> bool:
    """Whether every match of ``exception`` starts with ``prefix``: the pattern begins with
    it and is not a top-level alternation (``prefix A|B`` lets ``B`` match anywhere). A
    sentence-wide ``[^.!?]*`` one qualifies only if it does not name ``.``, ``!`` or ``?``
    itself: ``[^.!?]*(?:[.!?]+\\s*[^.!?]*)?X`` looks one sentence ahead, so a match can
    start in one run and end in the next, and only the full scan finds it."""
    if not exception.pattern.startswith(prefix):
        return False
    parsed = sre_parse.parse(exception.pattern, exception.flags)
    if len(parsed) == 1 and parsed[0][0] is sre_parse.BRANCH:
        return False
    return prefix != _RUN_PREFIX or not _names(parsed, {ord(c) for c in _RUN_STOPS})


def _names(parsed: Any, codes: set[int]) -> bool:
    """Whether a parsed pattern names one of ``codes`` as a literal or in a (not negated)
    character class, anywhere in it. ``\\W`` and ``[^a]`` do not count: a sentence-wide
    exception uses them between words, not to reach the next sentence."""
    C = sre_parse
    for op, av in parsed:
        if op is C.LITERAL:
            found = av in codes
        elif op is C.IN:
            found = not (av and av[0][0] is C.NEGATE) and any(
                (o is C.LITERAL and v in codes)
                or (o is C.RANGE and any(v[0] <= c <= v[1] for c in codes))
                for o, v in av
            )
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            found = _names(av[2], codes)
        elif op in (C.SUBPATTERN, C.ASSERT, C.ASSERT_NOT):
            found = _names(av[-1], codes)
        elif op is C.ATOMIC_GROUP:
            found = _names(av, codes)
        elif op is C.BRANCH:
            found = any(_names(branch, codes) for branch in av[1])
        else:
            found = False
        if found:
            return True
    return False


def _excepted(exceptions: _Exceptions, folded: str, start: int, end: int) -> bool:
    """True when an exception pattern's match overlaps [start, end)."""
    n = len(folded)
    for exception in exceptions:
        reach = exception.reach
        lo = start - reach if start > reach else 0
        hi = end + reach if end + reach < n else n
        gate = exception._gate
        if gate is None:
            gate = exception.gate()
        if gate:
            # a plain loop: a generator under any() costs more than most of these finds
            for literal in gate:
                if folded.find(literal, lo, hi) >= 0:
                    break
            else:
                continue
        if exception.special is not None:
            if exception.special(folded, start, end, lo, hi):
                return True
            continue
        for x in exception.finditer(folded, lo, hi):
            if x.start() < end and start < x.end():
                return True
    return False


def _run_excepted(match: _RunMatch, folded: str, start: int, end: int, lo: int, hi: int) -> bool:
    """A sentence-wide exception (``[^.!?]*X...``) against the finding [start, end).

    Its matches never contain ``.``, ``!`` or ``?``, and one that starts anywhere in a
    run of other characters could as well start where the run (within [lo, hi)) starts,
    its ``[^.!?]*`` taking the difference. So matching from each run start that
    overlaps the finding gives what ``finditer`` over the window gives, without trying
    every position of the sentence (quadratic: 0.4-0.7 ms per exception on 1,000
    characters)."""
    a = max(lo, max(folded.rfind(c, lo, start) for c in _RUN_STOPS) + 1)
    while a < end:
        stop = _RUN_STOP.search(folded, a, hi)
        b = stop.start() if stop is not None else hi
        if b > start:
            m = match(folded, a, b)
            if m is not None and m.start() < end and start < m.end():
                return True
        a = b + 1
    return False


def _start_excepted(match: _RunMatch, folded: str, start: int, end: int, lo: int, hi: int) -> bool:
    """An exception anchored at a sentence start (``(?:^|(?<=[.!?;]))...``) against the
    finding [start, end): what ``finditer`` over [lo, hi) finds, trying only the positions
    where the anchor can hold (the text's start, or right after ``.!?;``) and skipping, as
    ``finditer`` does, those inside an earlier match. ``finditer`` would try the anchor at
    every position of the window (20-30 us each for the Romanian policy exceptions)."""
    p = lo
    while p < end:
        if p and folded[p - 1] not in _START_STOPS:
            stop = _START_STOP.search(folded, p, hi)
            if stop is None:
                return False
            p = stop.end()
            if p >= end:
                return False
        m = match(folded, p, hi)
        if m is None:
            p += 1
            continue
        if m.start() < end and start < m.end():
            return True
        p = m.end() if m.end() > p else p + 1
    return False


def _softened(rule: CompiledRule, folded: str, start: int) -> bool:
    """Whether the sentence of a finding at ``start``, or the sentence after it, offers a way
    forward (one of the pack's ``softened_by`` patterns): "That's against our policy, but I
    can offer you a voucher instead." is advice, not a refusal to block. In a pack with
    ``when_softened: pass`` a warning rule's finding is looked at too: it then passes."""
    if rule.spec.severity is not Severity.BLOCK and not rule.softened_passes:
        return False
    lo, end = _sentence_around(folded, start)
    following = _SENTENCE_END.search(folded, end + 1) if end < len(folded) else None
    hi = following.end() if following else len(folded)
    return any(p.search(folded, lo, hi) for p in rule.softeners)


def _matches(
    search: _Search, folded: str, lo: int, hi: int, boundary: bool
) -> Iterator[tuple[int, int]]:
    """The spans a pattern's ``search`` matches in ``folded[lo:hi]``, at word boundaries when
    ``boundary`` is set, without overlaps."""
    m = search(folded, lo, hi)
    while m is not None:
        start, end = m.span()
        if boundary and not at_boundaries(folded, start, end):
            # A match cut out of a word ("mohon maaf" in "memohon maaf") must not hide one
            # that starts later inside it ("maaf").
            m = search(folded, start + 1, hi)
            continue
        yield start, end
        m = search(folded, end if end > start else end + 1, hi)


def _quoted(
    doc: Folded,
    ignored: list[tuple[int, int]],
    span: tuple[int, int],
    at: tuple[int, int],
    matches: Callable[[str], Iterator[tuple[int, int]]],
) -> bool:
    """Whether a match at ``span`` (input offsets; ``at`` in the folded text), of a pattern
    whose ``matches`` in a folded text are given, is not the agent's own words: it lies in
    a quotation (or an address), or it reaches into one and the pattern finds nothing
    there once the quoted words are masked ("you wrote „zum dritten mal nicht geräumt“",
    the customer's words, not the agent's). Only a quotation of ``REPORTED_WORDS`` words or
    more is masked: a shorter one inside a match is a term or the agent's own scare quotes
    ("the phone did not fall out 'just like that'"), read as the agent's words. A pattern
    that only frames a quotation still finds it ("Which part of 'no returns' is ...")."""
    start, end = span
    if any(qs <= start and end <= qe for qs, qe in ignored):
        return True
    text = doc.original
    reported = [
        (qs, qe)
        for qs, qe in ignored
        if qs < end and start < qe and len(_WORDS.findall(text, qs, qe)) >= REPORTED_WORDS
    ]
    if not reported:
        return False
    return not any(s < at[1] and at[0] < e for s, e in matches(_blanked(doc, reported)))


# What a quoted word's letters become: a word character no pack's pattern names.
_MASK = "ж"
# A quotation this long is reported speech, not a term or a scare quote.
REPORTED_WORDS = 4
_WORDS = re.compile(r"\w+")


def _blanked(doc: Folded, spans: list[tuple[int, int]]) -> str:
    """The folded text with the word characters of ``spans`` (offsets into the input)
    masked: the quotation keeps its marks, spaces and length, not its words."""
    chars = list(doc.folded)
    index = doc.index_map
    for qs, qe in spans:
        if index is not None:  # decomposed input: folded offsets differ from the input's
            qs, qe = bisect_left(index, qs), bisect_left(index, qe)
        chars[qs:qe] = [_MASK if is_word_char(c) else c for c in chars[qs:qe]]
    return "".join(chars)


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
    return apply_edits(text, edits)


def drop_sentences(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """Take out every whole sentence that holds one of ``spans`` (tidy spacing after)."""
    edits = []
    for start, end in spans:
        s, e = _sentence_at(text, start, end)
        edits.append((s, e, ""))
    return apply_edits(text, edits)


def apply_edits(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Apply (start, end, replacement) edits; a removal ("") absorbs edits it overlaps."""
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
