"""Which patterns of a language can match a text at all: one RE2 ``Set`` pass.

Python's ``re`` tries patterns one at a time; with 400-700 patterns per
language even the Aho-Corasick prefilter (``rules/prefilter.py``) leaves 100-200
of them to run on a 1,000-character reply. RE2's ``Set`` matches every pattern
of a language in one linear pass (a DFA) and says which ones match somewhere:
a few microseconds, and usually none or a handful of candidates, which then run
in ``re`` as before for their exact spans, boundaries and exceptions.

RE2 lacks look-arounds and back-references, and its ``\\w``, ``\\d``, ``\\s`` and
``\\b`` are ASCII-only. Each pattern is therefore rewritten from its parsed form
into a *looser* RE2 pattern: look-arounds and word-boundary assertions are
dropped, shorthand classes become their Unicode property equivalents, and any
class RE2 cannot express exactly becomes "any character". The RE2 pattern
matches wherever the Python one does (and sometimes where it does not), so it
can only ever add candidates, never lose a finding. A pattern that cannot be
rewritten (a back-reference) is always a candidate.

If RE2 runs out of memory on a text it returns no answer; a pattern that
matches everything is in every set, so "no answer" is told apart from "no
match" and the check falls back to the Aho-Corasick prefilter.
"""

from __future__ import annotations

import importlib
from string import ascii_letters as _ascii_letters
from typing import Any

sre_parse: Any = importlib.import_module("re._parser")
sre_constants: Any = importlib.import_module("re._constants")
C = sre_constants

# The memory RE2 may use for one set (its DFA cache); a budget, not an allocation. At 128 MB
# the Turkish set (1,232 patterns) kept refilling its cache: ~10 ms a text instead of ~18 us.
MAX_MEM = 256 << 20
_ANY = r"[\x{0}-\x{10FFFF}]"
# Python's \w, \d and \s cover non-ASCII characters; RE2's do not. Every non-ASCII
# character is let in instead of the exact Unicode classes: a looser class, and a far
# smaller program (\pL spelled out in UTF-8 byte ranges, hundreds of times over, does not
# fit RE2's memory budget). Folded text is mostly ASCII.
_NON_ASCII = r"\x{80}-\x{10FFFF}"
_CATEGORIES = {
    C.CATEGORY_WORD: r"0-9A-Za-z_" + _NON_ASCII,
    C.CATEGORY_DIGIT: r"0-9" + _NON_ASCII,
    C.CATEGORY_SPACE: r"\t-\r\x{1C}-\x{20}" + _NON_ASCII,
}
_NEGATED = {C.CATEGORY_NOT_WORD, C.CATEGORY_NOT_DIGIT, C.CATEGORY_NOT_SPACE}
# A negated shorthand, loosened: everything but its ASCII complement (every non-ASCII
# character is let in, as above). With the literals a class adds (not ASCII letters or
# digits), e.g. the packs' separator [\W_]: "anything but an ASCII letter or digit".
_NEGATED_CLASSES = {
    C.CATEGORY_NOT_WORD: (r"[^0-9A-Za-z]", frozenset("0123456789" + _ascii_letters)),
    C.CATEGORY_NOT_DIGIT: (r"[^0-9]", frozenset("0123456789")),
    C.CATEGORY_NOT_SPACE: (r"[^\t-\r\x{1C}-\x{20}]", frozenset("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f ")),
}


class SetTooLarge(RuntimeError):
    """RE2 could not compile a language's patterns within ``MAX_MEM``."""


class Unsupported(ValueError):
    """A construct with no looser RE2 equivalent (a back-reference)."""


def _char(code: int) -> str:
    return rf"\x{{{code:X}}}"


def _in(items: list[tuple[Any, Any]]) -> str:
    """A character class, or any character when RE2 cannot say it exactly."""
    negate = bool(items) and items[0][0] is C.NEGATE
    if negate:
        items = items[1:]
        if any(op is not C.LITERAL and op is not C.RANGE for op, _ in items):
            return _ANY  # a negated class with a shorthand in it: RE2 cannot say it exactly
    negated = [av for op, av in items if op is C.CATEGORY and av in _NEGATED]
    if negated:
        if negate or len(negated) > 1:
            return _ANY
        loose, excluded = _NEGATED_CLASSES[negated[0]]
        others = [(op, av) for op, av in items if not (op is C.CATEGORY and av in _NEGATED)]
        if all(op is C.LITERAL and chr(av) not in excluded for op, av in others):
            return loose  # the literals are inside it already
        return _ANY
    parts: list[str] = []
    for op, av in items:
        if op is C.LITERAL:
            parts.append(_char(av))
        elif op is C.RANGE:
            parts.append(f"{_char(av[0])}-{_char(av[1])}")
        elif op is C.CATEGORY and av in _CATEGORIES:
            parts.append(_CATEGORIES[av])
        else:
            return _ANY
    if not parts:
        return _ANY
    return f"[{'^' if negate else ''}{''.join(parts)}]"


def _seq(items: Any) -> str:
    return "".join(_item(op, av) for op, av in items)


def _item(op: Any, av: Any) -> str:
    if op is C.LITERAL:
        return _char(av)
    if op is C.NOT_LITERAL:
        return f"[^{_char(av)}]"
    if op is C.ANY:
        return _ANY
    if op is C.IN:
        return _in(av)
    if op is C.BRANCH:
        return "(?:" + "|".join(_seq(b) for b in av[1]) + ")"
    if op is C.SUBPATTERN:
        return f"(?:{_seq(av[-1])})"
    if op in (C.MAX_REPEAT, C.MIN_REPEAT) or op is getattr(C, "POSSESSIVE_REPEAT", None):
        low, high, body = av
        inner = f"(?:{_seq(body)})"
        if high is C.MAXREPEAT or high > 1000:
            return f"{inner}{{{low},}}" if low else f"{inner}*"
        return f"{inner}{{{low},{high}}}"
    if op is getattr(C, "ATOMIC_GROUP", None):
        return f"(?:{_seq(av)})"
    if op in (C.ASSERT, C.ASSERT_NOT, C.AT):
        return ""  # dropped: the looser pattern matches with or without it
    if op in (C.GROUPREF, C.GROUPREF_EXISTS):
        raise Unsupported("back-reference")
    raise Unsupported(str(op))


def loosen(regex: str, flags: int = 0) -> str:
    """An RE2 pattern matching wherever ``regex`` (Python syntax) matches."""
    return _seq(sre_parse.parse(regex, flags))


class PatternSet:
    """The patterns of one language as an RE2 set; ``candidates`` says which may match."""

    def __init__(self, regexes: list[tuple[str, int]]) -> None:
        import re2

        options = re2.Options()
        options.max_mem = MAX_MEM
        self._set = re2.Set.SearchSet(options)
        self._set.Add("")  # matches every text: its presence tells an answer from a failure
        self.always: list[int] = []  # patterns RE2 cannot take: candidates in every text
        self._keys: list[int] = [-1]
        for key, (regex, flags) in enumerate(regexes):
            try:
                self._set.Add(loosen(regex, flags))
            except (Unsupported, re2.error):
                self.always.append(key)
                continue
            self._keys.append(key)
        try:
            self._set.Compile()
        except re2.error as exc:
            raise SetTooLarge(
                f"RE2 cannot hold {len(regexes)} patterns in {MAX_MEM >> 20} MB"
            ) from exc

    def candidates(self, folded: str) -> list[int] | None:
        """The keys of the patterns that may match ``folded``, in key order; None when RE2
        gave no answer (out of memory): then every pattern is a candidate."""
        found = self._set.Match(folded)
        if not found:
            return None
        keys = self._keys
        return sorted({*(keys[i] for i in found if i), *self.always})


def available() -> bool:
    try:
        import re2  # noqa: F401
    except ImportError:
        return False
    return True
