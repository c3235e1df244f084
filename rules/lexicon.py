"""Word-level matching for the rule packs: inflected lemmas, word classes and gaps.

A pack pattern may use three token forms beside plain regex (LanguageTool's rule
model: inflected tokens, skips; its antipatterns are a rule's ``exceptions``):

* ``<calm>`` matches any inflected form of the lemma *calm* ("calm", "calmed",
  "calming", ...); ``<calm|relax>`` any form of either lemma;
* ``@you`` matches any word of the language's class *you* (second person), one of
  the small hand-written classes in ``rules/lexicon/<lang>.yaml``;
* ``~2`` followed by a space skips up to two words ("no need to ~2 <worry>").

They are expanded into plain pack syntax when a rule is compiled, so the check path
stays one regex search per candidate pattern (with the RE2 and Aho-Corasick
candidate passes unchanged) and no lemmatizer runs at check time. The forms of each
lemma come from ``rules/lexicon/<lang>.forms.json``, generated from simplemma's
dictionaries by ``python -m rules.build_lexicon`` (``make lexicon``) for the lemmas the
built-in packs use, plus a pack's own additions (``forms:`` in the YAML file).
Malay has no inflection dictionary; its lemmas expand through the affix rules of
:func:`malay_regex` (ber-, meN-, di-, ter-, ke-, pe-, -kan, -i, -an, -nya, -lah ...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from rules.normalize import fold_string

LEXICON_DIR = Path(__file__).parent / "lexicon"

# <lemma> or <lemma|lemma>: not a look-behind "(?<=", "(?<!" nor a named group "(?P<name>".
_LEMMA = re.compile(r"(?<!\(\?)(?<!\(\?P)<([^\W\d_][\w' |-]*)>")
# @class at the start of a token: after the start, a space, "(", "|", ":", or the end of an
# optional or repeated group ("(?:\w+ )?@you", "~1 @you" -> "(?:\w+ ){0,1}@you"). Not after
# a word character or "+"/"*" ("[\w.-]+@example.com" is an address).
_CLASS = re.compile(r"(?:^|(?<=[ (|:?})]))@([a-z_]+)")
# ~N followed by a space: skip up to N words.
_GAP = re.compile(r"(?:^|(?<=[ (|:]))~(\d{1,2}) ")
FORM = re.compile(r"^[^\W_][\w'-]*$")


class LexiconError(ValueError):
    """A token form a pattern cannot use; the message says which."""


_Trie = dict[str, "_Trie"]


def trie_regex(words: Iterable[str]) -> str:
    """One regex matching exactly ``words`` (literal), sharing prefixes: ``calm(?:ed|s)?``.

    A common prefix keeps CPython's fast literal scan and gives the candidate
    passes a literal to look for.
    """
    trie: _Trie = {}
    for word in sorted(set(words)):
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def render(node: _Trie) -> str:
        ends = "" in node
        branches = [ch + render(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        # longest alternatives first, so a regex engine that stops at the first
        # branch still prefers the full word
        branches.sort(key=lambda b: (-len(b), b))
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:
            if len(branches) == 1 and len(branches[0]) == 1:
                return body + "?"
            return ("(?:" + body + ")?") if len(branches) == 1 else body + "?"
        return body

    return render(trie)


# Malay: meN- and peN- change with the root's first letter (and some drop it).
_NASAL = (
    ("ny", "", False),
    ("ng", "", False),
    ("p", "m", True),
    ("b", "m", False),
    ("f", "m", False),
    ("v", "m", False),
    ("t", "n", True),
    ("s", "ny", True),
    ("k", "ng", True),
    ("d", "n", False),
    ("c", "n", False),
    ("j", "n", False),
    ("z", "n", False),
    ("g", "ng", False),
    ("h", "ng", False),
)


def _nasalized(root: str) -> list[str]:
    """The root after meN-/peN- (without me-/pe-): tenang -> nenang, pukul -> mukul."""
    for start, nasal, drops in _NASAL:
        if root.startswith(start):
            if drops:  # the letter drops; loans often keep it (mempromosi)
                return [nasal + root[len(start) :], nasal + root]
            return [nasal + root]
    if root[:1] in "aeiou":
        return ["ng" + root]
    return [root]  # l, m, n, r, w, y: me- alone (melayan, merasa)


def malay_regex(root: str) -> str:
    """Pack syntax for a Malay root with its affixes: tenang -> bertenang, menenangkan ..."""
    root = fold_string(root)
    plain = "(?:ber|be|ter|di|ke|se|per|memper|diper)?" + root
    nasal = "(?:me|pe)" + trie_regex(_nasalized(root))
    # reduplication: marah-marah, (ber)tenang-tenang
    return f"(?:{plain}|{nasal})(?:-{root})?(?:kan|an|i)?(?:nya|lah|kah|pun|ku|mu)?"


@dataclass(frozen=True)
class Lexicon:
    """A language's inflected forms and word classes, used to expand token forms."""

    language: str
    forms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    classes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    affixes: str = ""  # "malay": lemmas expand by affix rules instead of forms

    def lemma_regex(self, lemma: str) -> str:
        lemma = fold_string(lemma.strip())
        if self.affixes == "malay":
            return malay_regex(lemma)
        forms = {lemma, *self.forms.get(lemma, ())}
        return trie_regex(forms)

    def expand(self, pattern: str) -> str:
        """Pack syntax with every <lemma>, @class and ~N replaced (no other change)."""
        if "<" not in pattern and "@" not in pattern and "~" not in pattern:
            return pattern

        def lemmas(m: re.Match[str]) -> str:
            parts = [p for p in m.group(1).split("|") if p.strip()]
            return "(?<!\\w)(?:" + "|".join(self.lemma_regex(p) for p in parts) + ")"

        def classes(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in self.classes:
                known = ", ".join(sorted(self.classes)) or "none"
                raise LexiconError(
                    f"unknown word class @{name} for language {self.language!r} (known: {known})"
                )
            # a class word is a whole word, in exceptions too ("sis" not in "sistem"); one
            # ending in an apostrophe or hyphen is a clitic and runs on (t'aider, v-am)
            words = [w if w.endswith(("'", "-")) else f"{w}(?!\\w)" for w in self.classes[name]]
            return "(?<!\\w)(?:" + "|".join(words) + ")"

        out = _GAP.sub(lambda m: f"(?:\\w+ ){{0,{int(m.group(1))}}}", pattern)
        out = _CLASS.sub(classes, out)
        return _LEMMA.sub(lemmas, out)


def lemmas_in(pattern: str) -> set[str]:
    """The lemmas a pattern writes as <lemma> or <a|b>, folded."""
    return {
        fold_string(p.strip())
        for m in _LEMMA.finditer(pattern)
        for p in m.group(1).split("|")
        if p.strip()
    }


def read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise LexiconError(f"{path}: a lexicon must be a mapping")
    return data


@cache
def load_lexicon(language: str) -> Lexicon:
    """The built-in lexicon of ``language`` (empty when it has none)."""
    hand = read_yaml(LEXICON_DIR / f"{language}.yaml")
    generated_path = LEXICON_DIR / f"{language}.forms.json"
    generated = (
        json.loads(generated_path.read_text(encoding="utf-8")) if generated_path.exists() else {}
    )
    forms: dict[str, set[str]] = {k: set(v) for k, v in generated.get("forms", {}).items()}
    for lemma, extra in (hand.get("forms") or {}).items():
        forms.setdefault(fold_string(str(lemma)), set()).update(fold_string(str(f)) for f in extra)
    classes = {
        str(name): tuple(str(w) for w in words)
        for name, words in (hand.get("classes") or {}).items()
    }
    return Lexicon(
        language=language,
        forms={k: tuple(sorted(v)) for k, v in forms.items()},
        classes=classes,
        affixes=str(hand.get("affixes") or ""),
    )
