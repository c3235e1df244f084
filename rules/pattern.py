"""The small pattern language of the rule packs.

A pattern is a Python regular expression matched against folded text (see
``rules.normalize``), with three conveniences for phrase matching:

* a space matches any short run of spaces and punctuation ("calm down",
  "calm  down", "calm... down");
* a hyphen between letters matches a hyphen, a space or nothing
  ("calmati-va" matches "calmați-vă", "calmati va" and "calmativa");
* an apostrophe is optional and matches every apostrophe form
  ("that's" matches "that’s" and "thats").

Letters are folded like the text, so a pattern may be written with or
without diacritics and in any case. Matches must start and end at word
boundaries unless a rule sets ``boundary: false``: the end inside the regex
(a look-ahead), the start after matching so that the regex keeps its fast
literal-prefix scan.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from functools import lru_cache

from rules.lexicon import Lexicon, LexiconError
from rules.normalize import fold_string

SEPARATOR = r"[\W_]{1,4}"
OPTIONAL_SEPARATOR = r"[\W_]{0,2}"
# A hyphen between letters: a hyphen, one space or nothing (not ". ", which ends a sentence).
HYPHEN = r"[-\s]?"
APOSTROPHE = r"'?"


@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    """One character folded (cached: a pack has a few thousand distinct ones at most)."""
    return ch.lower() if ch.isascii() else fold_string(ch)


class PatternError(ValueError):
    """A pattern that cannot be compiled; the message says why."""


def translate(pattern: str) -> str:
    """Rewrite a pack pattern into a plain regex over folded text."""
    out: list[str] = []
    i = 0
    in_class = False
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            # Escapes are copied verbatim: folding would turn \W into \w.
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
            out.append(ch if ch in "-^]" else _fold_char(ch))
        elif ch == "[":
            in_class = True
            out.append(ch)
        elif ch == " ":
            while i + 1 < n and pattern[i + 1] == " ":
                i += 1
            if i + 1 < n and pattern[i + 1] == "?":
                i += 1  # "100 ?%": an optional separator
                out.append(OPTIONAL_SEPARATOR)
            else:
                out.append(SEPARATOR)
        elif ch == "'":
            out.append(APOSTROPHE)
        elif ch == "-" and 0 < i < n - 1 and pattern[i - 1].isalpha() and pattern[i + 1].isalpha():
            out.append(HYPHEN)
        elif ch == "(" and pattern.startswith("(?P<", i):
            # Named groups keep their names (not folded).
            close = pattern.index(">", i)
            out.append(pattern[i : close + 1])
            i = close + 1
            continue
        else:
            out.append(_fold_char(ch) if ch.isalpha() else ch)
        i += 1
    return "".join(out)


def compile_pattern(
    pattern: str, boundary: bool = False, lexicon: Lexicon | None = None
) -> re.Pattern[str]:
    """Compile a pack pattern; with ``boundary`` the match may not end inside a word.

    With a ``lexicon``, the token forms ``<lemma>``, ``@class`` and ``~N`` are
    expanded first (``rules.lexicon``).

    The end check is part of the regex, so that of "koet|koette" the engine
    backtracks to the alternative that ends on a word boundary; the start is
    checked after matching (``at_boundaries``), which keeps the literal-prefix scan.
    """
    return _compile_source(_source(pattern, lexicon), pattern, boundary)


def compile_alternatives(
    pattern: str, boundary: bool = False, lexicon: Lexicon | None = None
) -> tuple[re.Pattern[str], ...]:
    """A rule's pattern as one regex per top-level alternative.

    "(?:e|este) a treia oara|\\bnu toata lumea stie" is searched as two regexes: the
    candidate passes (RE2, Aho-Corasick) then name only the alternative that can match,
    and an alternative with a literal start keeps Python's fast prefix scan instead of
    the whole pattern being tried at every position of the text. Each alternative
    finds what it found inside the whole pattern (overlapping findings of one rule are
    merged by the engine).
    """
    source = _source(pattern, lexicon)
    parts = split_alternatives(source)
    if len(parts) == 1:
        return (_compile_source(source, pattern, boundary),)
    return tuple(_compile_source(part, pattern, boundary) for part in dict.fromkeys(parts))


def _source(pattern: str, lexicon: Lexicon | None) -> str:
    if not pattern.strip():
        raise PatternError("empty pattern")
    if lexicon is not None:
        try:
            pattern = lexicon.expand(pattern)
        except LexiconError as exc:
            raise PatternError(str(exc)) from exc
    return hoist_word_starts(translate(pattern))


WORD_START = "(?<!\\w)"
_QUANTIFIERS = frozenset("?*+{")


def hoist_word_starts(source: str) -> str:
    """``(?:(?<!\\w)A|(?<!\\w)B)`` written as ``(?<!\\w)(?:A|B)``: the same matches.

    ``(?:<sagen>|<erklären>|...)`` expands to a group whose every alternative starts with
    the same look-behind; CPython then tests it once per alternative at every position of
    the text, and a position inside a word fails only after all of them. Tested once in
    front of the group it fails at once (one de rule over the bench's prose: 109 -> 3 us).
    A group with a quantifier after it keeps its look-behinds (``(?:...)?`` may match
    nothing, and then the look-behind must not be required).
    """
    if source.count(WORD_START) < 2:
        return source
    while True:
        stack: list[int] = []
        for i, ch in _syntax(source):
            if ch == "(":
                stack.append(i)
            elif ch == ")" and stack:
                start = stack.pop()
                if not source.startswith("(?:", start):
                    continue
                if i + 1 < len(source) and source[i + 1] in _QUANTIFIERS:
                    continue
                parts = split_alternatives(source[start + 3 : i])
                if len(parts) > 1 and all(p.startswith(WORD_START) for p in parts):
                    inner = "|".join(p[len(WORD_START) :] for p in parts)
                    source = f"{source[:start]}{WORD_START}(?:{inner}){source[i + 1 :]}"
                    break
        else:
            return source


_SPACE = translate(" x")[: -len("x")]  # what a pattern's space becomes
_LOOKAROUND = re.compile(r"\(\?<?[=!]")


def _group_start(source: str, end: int) -> int:
    """The index of the ``(`` that the ``)`` at ``end`` closes (escapes and classes aside)."""
    stack: list[int] = []
    for i, ch in _syntax(source):
        if i >= end:
            break
        if ch == "(":
            stack.append(i)
        elif ch == ")" and stack:
            stack.pop()
    return stack[-1] if stack else -1


def ends_with_space(source: str) -> bool:
    """Whether some way through the regex ``source`` ends on a pattern's space: with the
    word-boundary check after it, that way can only match at the very end of a text."""
    for part in split_alternatives(source):
        while part.endswith(")") and not part.endswith("\\)"):
            start = _group_start(part, len(part) - 1)
            if start < 0:
                break
            if _LOOKAROUND.match(part, start):
                part = part[:start]  # a look-around at the end: what comes before it ends
                continue
            inner = re.sub(r"^\(\?(?:P<\w+>|:|[aiLmsux-]+:)?|^\(", "", part[start:-1])
            if ends_with_space(inner):
                return True
            break
        if part.endswith(_SPACE):
            return True
    return False


def _compile_source(source: str, pattern: str, boundary: bool) -> re.Pattern[str]:
    if boundary and ends_with_space(source):
        raise PatternError(
            f"pattern {pattern!r} ends with a space in some alternative: a match must end on "
            "a word boundary, so that alternative can never match inside a text; end it on "
            "the word (or use ' ?' for an optional space before punctuation)"
        )
    if boundary:
        source = f"(?:{source})(?!\\w)"
    try:
        compiled = re.compile(source)
    except re.error as exc:
        raise PatternError(f"invalid pattern {pattern!r}: {exc}") from exc
    if compiled.match(""):
        raise PatternError(f"pattern {pattern!r} matches the empty string")
    return compiled


def split_alternatives(source: str) -> list[str]:
    """A regex's top-level alternatives (``a|b(?:c|d)`` -> ``a``, ``b(?:c|d)``); the whole
    regex when it has none, or when it starts with global flags (``(?i)``)."""
    if source.startswith("(?") and re.match(r"\(\?[aiLmsux]+\)", source):
        return [source]
    parts: list[str] = []
    depth = start = 0
    for i, ch in _syntax(source):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(source[start:i])
            start = i + 1
    parts.append(source[start:])
    return parts


def _syntax(source: str) -> Iterator[tuple[int, str]]:
    """The positions of the regex's grouping and alternation characters (``(``, ``)``,
    ``|``), skipping escapes and character classes."""
    n = len(source)
    i = 0
    in_class = False
    while i < n:
        ch = source[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            j = i + 1 + (i + 1 < n and source[i + 1] == "^")
            if j < n and source[j] == "]":
                i = j  # "[]..." and "[^]...": the first ] is a literal
        elif ch in "()|":
            yield i, ch
        i += 1


class LazyRegex:
    """A regex compiled on first use (``pattern`` and ``flags`` are known before).

    A built-in pack whose sources come from the cache (``rules.packcache``) holds these,
    so a one-off check compiles only the regexes the prefilter names for its text. The
    built-in sources were compiled and checked when the cache was written, and
    ``tests/test_packcache.py`` compiles every one of them.
    """

    __slots__ = ("_compiled", "pattern")
    flags = re.UNICODE

    def __init__(self, source: str) -> None:
        self.pattern = source
        self._compiled: re.Pattern[str] | None = None

    @property
    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self.pattern)
        return self._compiled

    def search(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled.search(text, pos, endpos)

    def finditer(
        self, text: str, pos: int = 0, endpos: int = sys.maxsize
    ) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(text, pos, endpos)

    def match(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled.match(text, pos, endpos)


# A compiled pattern, or one compiled on first use.
Regex = re.Pattern[str] | LazyRegex


def compiled(regex: Regex) -> re.Pattern[str]:
    """The compiled regex behind a pattern, lazy or not."""
    return regex.compiled if isinstance(regex, LazyRegex) else regex


def is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def compile_any(patterns: list[str] | tuple[str, ...]) -> re.Pattern[str]:
    """One pattern matching any of ``patterns`` (pack syntax), ending on a word boundary."""
    return compile_pattern("|".join(f"(?:{p})" for p in patterns), boundary=True)


def word_matches(pattern: re.Pattern[str], text: str) -> list[re.Match[str]]:
    """Non-empty matches that start and end at word boundaries.

    A match that starts inside a word ("mohon maaf" inside "memohon maaf") is
    skipped by one character, not by its length, so that a shorter alternative
    starting later ("maaf") is still found.
    """
    found: list[re.Match[str]] = []
    pos = 0
    while pos <= len(text):
        m = pattern.search(text, pos)
        if m is None:
            break
        if m.end() > m.start() and at_boundaries(text, m.start(), m.end()):
            found.append(m)
            pos = m.end()
        else:
            pos = m.start() + 1
    return found


def at_boundaries(text: str, start: int, end: int) -> bool:
    """True when [start, end) does not cut a word on either side."""
    if start > 0 and is_word_char(text[start - 1]) and is_word_char(text[start]):
        return False
    return not (end < len(text) and is_word_char(text[end - 1]) and is_word_char(text[end]))
