"""Which patterns can possibly match: required literals and one Aho-Corasick pass.

CPython's ``re`` scans fast only when a pattern starts with a literal; a
phrase pattern such as ``(?:i|we)(?:'ll| will) refund you`` is tried at every
position (about 10 us per 1,000 characters). Each pattern therefore gets a
set of *anchors*: literal strings of which at least one must occur in any
match (derived from the parsed regex, choosing the most selective). One
Aho-Corasick pass over the folded text finds the anchors present, and only
the patterns they belong to run, each in a window around its anchor.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import ahocorasick

from rules.pattern import Regex

# The regex parser CPython's re uses (re._parser since 3.11); private, hence Any.
sre_parse: Any = importlib.import_module("re._parser")
sre_constants: Any = importlib.import_module("re._constants")

_LITERAL = sre_constants.LITERAL
_SUBPATTERN = sre_constants.SUBPATTERN
_BRANCH = sre_constants.BRANCH
_REPEATS = {sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT}
_POSSESSIVE = getattr(sre_constants, "POSSESSIVE_REPEAT", None)
_ATOMIC = getattr(sre_constants, "ATOMIC_GROUP", None)
_MAXREPEAT = sre_constants.MAXREPEAT

Anchors = frozenset[str]
_MARGIN = 32


# Function words that occur in almost every reply make poor anchors: each
# occurrence costs a regex run. Folded forms, for the five seed languages.
_COMMON = frozenset(
    """
        the our you your have has had not what this that with will are can for and was
        but all its it's is to we i me my do be no so if of in on at as or an a get just
        please there they them their here now then how who when why which would could
        should been being were bu ve bir icin ne ama siz ben biz size daha cok gibi var
        yok nu si va sa ca de la cu in pe este sunt mai ce ati am on ei en ja se te me
        ole etta nyt kun tai saya anda kami tidak tak ini itu dan yang ada untuk dengan
        akan sorry thank thanks help order team support hello
        """.split()
)


# A match reaches at most this far past an unbounded part (``\\w*``): phrase
# patterns never need more, and it keeps windows short.
MAX_REACH = 200


class AnchorCost:
    """Ranks anchor sets: fewer expected hits in typical text is better.

    ``sample`` is typical folded text of the language (the packs' own example
    lines); anchors that occur often there ("iyorum" in Turkish, "the" in
    English) would run their patterns on almost every reply.
    """

    def __init__(self, sample: str = "") -> None:
        self.sample = sample
        self._hits: dict[str, int] = {}

    def hits(self, anchor: str) -> int:
        if anchor not in self._hits:
            self._hits[anchor] = self.sample.count(anchor)
        return self._hits[anchor]

    def __call__(self, anchors: Anchors) -> tuple[int, int, int, int]:
        common = sum(1 for a in anchors if a.strip() in _COMMON or len(a.strip()) < 3)
        hits = sum(self.hits(a) for a in anchors)
        return (-common, -hits, min(len(a) for a in anchors), -len(anchors))

    def best(self, candidates: list[Anchors]) -> Anchors | None:
        return max(candidates, key=self) if candidates else None


def _sequence(items: Iterable[tuple[Any, Any]], cost: AnchorCost) -> list[Anchors]:
    candidates: list[Anchors] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            candidates.append(frozenset({"".join(run)}))
            run.clear()

    for op, av in items:
        if op is _LITERAL:
            run.append(chr(av))
            continue
        flush()
        sub: Anchors | None = None
        if op is _SUBPATTERN:
            sub = cost.best(_sequence(av[-1], cost))
        elif op is _BRANCH:
            branches = [cost.best(_sequence(b, cost)) for b in av[1]]
            if branches and all(b is not None for b in branches):
                sub = frozenset(a for b in branches if b is not None for a in b)
        elif op in _REPEATS or (_POSSESSIVE is not None and op is _POSSESSIVE):
            low, _high, body = av
            if low >= 1:
                sub = cost.best(_sequence(body, cost))
        elif _ATOMIC is not None and op is _ATOMIC:
            sub = cost.best(_sequence(av, cost))
        if sub:
            candidates.append(sub)
    flush()
    return candidates


@dataclass(frozen=True, slots=True)
class AnchorPlan:
    """Anchors of a pattern and how far a match can reach before and after one.

    ``before``: most characters from the match start to the start of the
    anchoring element; ``after``: most characters from the start of that
    element to the match end; ``element``: most characters of the anchoring
    element itself. Unbounded parts count as ``MAX_REACH``. ``literal_start``:
    every match starts with the anchoring literal(s) themselves (no element before
    them, not even a zero-width one such as a look-behind or ``\\b``), the case
    CPython's own regex scan skips ahead to when it is a single literal.
    """

    anchors: Anchors | None
    before: int
    after: int
    element: int
    literal_start: bool = False


def _max_width(parsed: Any, items: list[tuple[Any, Any]]) -> int:
    high = sre_parse.SubPattern(parsed.state, items).getwidth()[1]
    return MAX_REACH if high >= _MAXREPEAT else min(int(high), MAX_REACH)


def _top_level(parsed: Any) -> list[tuple[Any, Any]]:
    """The top-level sequence, with a leading non-capturing group unwrapped.

    ``compile_pattern`` wraps each pattern as ``(?:...)(?!\\w)``; planning on
    the inner sequence keeps the windows as narrow as the phrase allows.
    """
    items = list(parsed)
    while items and items[0][0] is _SUBPATTERN and items[0][1][0] is None and not items[0][1][1]:
        inner = list(items[0][1][-1])
        if len(inner) == 1 and inner[0][0] is _BRANCH:
            break
        items = inner + items[1:]
    return items


# ``\w*`` and ``\w+`` stand for the rest of a word (``rauhoit\w*``): for the windows they
# reach as far as a long word, not MAX_REACH. A match whose word runs longer than this is cut
# at the window's end and then fails its word-boundary check (so: missed, never invented).
LONGEST_WORD = 32
_WORD_RUN = re.compile(r"(?<!\\)\\w([*+])")


def _words_bounded(regex: str) -> str:
    """``regex`` with unbounded runs of word characters bounded, for planning windows only."""
    return _WORD_RUN.sub(lambda m: f"\\w{{{0 if m.group(1) == '*' else 1},{LONGEST_WORD}}}", regex)


def plan(regex: str, cost: AnchorCost | None = None) -> AnchorPlan:
    cost = cost or AnchorCost()
    parsed = sre_parse.parse(regex)
    # Units: a run of literals, or one other element.
    units: list[list[tuple[Any, Any]]] = []
    for item in _top_level(parsed):
        if item[0] is _LITERAL and units and units[-1][-1][0] is _LITERAL:
            units[-1].append(item)
        else:
            units.append([item])
    options: list[tuple[Anchors, int]] = []
    for j, unit in enumerate(units):
        found = cost.best(_sequence(unit, cost))
        if found:
            options.append((found, j))
    if not options:
        return AnchorPlan(None, -1, -1, -1)
    anchors, j = max(options, key=lambda o: cost(o[0]))
    widths = [_max_width(parsed, u) for u in units]
    first = j == 0 and units[0][0][0] is _LITERAL
    return AnchorPlan(anchors, sum(widths[:j]), sum(widths[j:]), widths[j], first)


def plan_to_json(p: AnchorPlan) -> list[Any]:
    return [sorted(p.anchors) if p.anchors else None, p.before, p.after, p.element, p.literal_start]


def plan_from_json(data: list[Any]) -> AnchorPlan:
    anchors, before, after, element, first = data
    return AnchorPlan(frozenset(anchors) if anchors else None, before, after, element, first)


@dataclass(frozen=True, slots=True)
class Prefiltered:
    key: int
    pattern: Regex
    plan: AnchorPlan


def plan_windows(p: AnchorPlan, folded: str) -> list[tuple[int, int]]:
    """Where one pattern can match, found with ``str.find`` of its own anchors (a few
    C substring scans): the windows ``Prefilter.windows`` would give it, merged. The
    whole text when the pattern has no anchors or an unbounded part."""
    n = len(folded)
    if not p.anchors or p.before < 0 or p.element < 0 or p.after < 0:
        return [(0, n)]
    spans: list[tuple[int, int]] = []
    for anchor in p.anchors:
        back = p.before + p.element - len(anchor)
        ahead = len(anchor) + p.after + _MARGIN
        at = folded.find(anchor)
        while at >= 0:
            spans.append((at - back if at > back else 0, at + ahead if at + ahead < n else n))
            at = folded.find(anchor, at + 1)
    if len(spans) > 1:
        spans.sort()
        merged = [spans[0]]
        for lo, hi in spans[1:]:
            if lo <= merged[-1][1]:
                if hi > merged[-1][1]:
                    merged[-1] = (merged[-1][0], hi)
            else:
                merged.append((lo, hi))
        return merged
    return spans


class Prefilter:
    """Finds, in one pass, which patterns may match a folded text and where to look.

    Patterns that share an anchor form a group; a group's window around an
    anchor occurrence is wide enough for every pattern in it.
    """

    def __init__(
        self,
        patterns: list[Regex],
        sample: str = "",
        plans: list[AnchorPlan] | None = None,
    ) -> None:
        if plans is None:
            cost = AnchorCost(sample)
            plans = [plan(_words_bounded(p.pattern), cost) for p in patterns]
        self.entries = [
            Prefiltered(i, p, pl) for i, (p, pl) in enumerate(zip(patterns, plans, strict=True))
        ]
        self.always = tuple(e.key for e in self.entries if not e.plan.anchors)
        owners: dict[str, list[int]] = {}
        for e in self.entries:
            for anchor in e.plan.anchors or ():
                owners.setdefault(anchor, []).append(e.key)
        self._automaton = ahocorasick.Automaton()
        self.groups: list[tuple[int, ...]] = []
        for anchor, keys in owners.items():
            plans = [self.entries[k].plan for k in keys]
            bounded = all(p.before >= 0 and p.element >= 0 and p.after >= 0 for p in plans)
            reach_back = max(p.before + p.element - len(anchor) for p in plans) if bounded else -1
            reach_ahead = max(p.after for p in plans) + _MARGIN if bounded else -1
            self._automaton.add_word(
                anchor, (len(self.groups), len(anchor), reach_back, reach_ahead)
            )
            self.groups.append(tuple(keys))
        self._empty = not owners
        if not self._empty:
            self._automaton.make_automaton()

    def windows(self, folded: str) -> list[tuple[tuple[int, ...], list[tuple[int, int]]]]:
        """(pattern keys, windows to search) for every group that may match."""
        n = len(folded)
        out: list[tuple[tuple[int, ...], list[tuple[int, int]]]] = []
        if self.always:
            out.append((self.always, [(0, n)]))
        if self._empty:
            return out
        found: dict[int, list[tuple[int, int]]] = {}
        for end_index, (group, length, back, ahead) in self._automaton.iter(folded):
            if back < 0:
                found[group] = [(0, n)]
                continue
            lo = end_index + 1 - length - back
            hi = end_index + 1 + ahead
            lo = lo if lo > 0 else 0
            hi = hi if hi < n else n
            windows = found.get(group)
            if windows is None:
                found[group] = [(lo, hi)]
            elif lo <= windows[-1][1]:
                last = windows[-1]
                windows[-1] = (last[0], hi if hi > last[1] else last[1])
            else:
                windows.append((lo, hi))
        groups = self.groups
        out.extend((groups[g], w) for g, w in found.items())
        return out
