"""Language detection tuned for short agent replies.

lingua (offline, maintained) gives confidence values; on texts of two or
three words it often hesitates between close languages, so its scores are
combined with two cheap signals that matter for the coach's languages:

* marker words: frequent function words of each supported language
  (counted on folded text, so "değil" and "degil" both count);
* letters only one supported language uses (Romanian ș/ț, Turkish ı/ğ/İ).

Indonesian is detected as such but checked with the Malay rules (the two
share most of the vocabulary the rules look for). A language without packs
falls back to English plus the language-neutral rules, and the result says so.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from rules.normalize import fold_string

SUPPORTED = ("en", "tr", "ro", "fi", "ms")
# Detected but checked with another language's rules.
ALIASES = {"id": "ms"}
FALLBACK = "en"

# lingua candidates: the supported languages, Indonesian, and common languages
# that would otherwise be mistaken for a supported one.
_CANDIDATES = (
    "ENGLISH", "TURKISH", "ROMANIAN", "FINNISH", "MALAY", "INDONESIAN",
    "GERMAN", "FRENCH", "SPANISH", "PORTUGUESE", "ITALIAN", "DUTCH",
    "SWEDISH", "POLISH", "ESTONIAN", "TAGALOG", "RUSSIAN", "ARABIC",
)  # fmt: skip

_MARKERS: dict[str, frozenset[str]] = {
    "en": frozenset(
        """
        the you your i i'm we we're our is are not please sorry this that with can will
        now to of and for have it's don't can't what it my me be was
        """.split()
    ),
    "tr": frozenset(
        """
        ve bir bu icin degil lutfen olun sizin siz ben biz cok ama nasil size tesekkur
        ediyoruz hemen yok var gibi daha sizi bize bizim sakin musteri ozur dilerim
        maalesef
        """.split()
    ),
    "ro": frozenset(
        """
        nu si este pentru sunt noastra dumneavoastra imi pare rau multumim ati aceasta
        acest sa va vă voi tine asta mai foarte doar inteles mea meu mele din nou iar
        ati am fost
        """.split()
    ),
    "fi": frozenset(
        """
        on ei en emme voi ja etta nyt olen olet te me se tama kanssa mutta kiitos teille
        sinulle meidan mitaan pahoillani ole ette olemme tai vain
        """.split()
    ),
    "ms": frozenset(
        """
        saya anda kami tidak tak ini itu dengan untuk boleh akan sila terima kasih maaf
        dan yang ada awak sudah dah kerana sebab tuan puan bukan buat apa sy x utk dgn
        """.split()
    ),
    # Function words of the languages added after the seed ones; they only count
    # when the language has a rule pack (``supported``).
    "es": frozenset(
        """
        el la los las que de y en no es por para con su usted una muy pero esto eso ya he ha
        hay mi lo le del favor aun tambien
        """.split()
    ),
    "de": frozenset(
        "der die das und ist nicht ich sie wir mit ein eine auf fur es ihr ihnen bitte".split()
    ),
    "fr": frozenset("le la les et est pas je vous nous une des du que pour avec ce merci".split()),
    "pt": frozenset(
        """
        o a os as que de e em nao um uma para com voce senhor muito mas isso ja meu minha nos
        ao do da foi esta
        """.split()
    ),
}
_UNIQUE_LETTERS = {
    "ro": re.compile("[șțȘȚ]"),
    "tr": re.compile("[ıİğĞ]"),
    "es": re.compile("[ñÑ¿¡]"),
    "pt": re.compile("[ãõÃÕ]"),
}
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
# Each marker word and the languages it marks: one dictionary lookup per word of the text.
_MARKED_BY: dict[str, tuple[str, ...]] = {}
for _lang, _words in _MARKERS.items():
    for _word in _words:
        _MARKED_BY[_word] = (*_MARKED_BY.get(_word, ()), _lang)
# Words repeat across texts: each is folded once per process (bounded).
_fold_word = lru_cache(maxsize=50_000)(fold_string)
_LETTER = re.compile(r"[^\W\d_]")


# A text of this many words or fewer is too short to trust one detected language.
SHORT_WORDS = 3
# Detection is unsure when the runner-up pack scores at least this share of the best.
CLOSE = 0.6
# How many packs an unsure detection checks with (the best first).
PLAUSIBLE = 3


@dataclass(frozen=True)
class Detection:
    language: str  # the pack language to use
    detected: str | None  # what was seen (ISO 639-1), None when undetectable
    source: Literal["detected", "fallback"]
    notes: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    # When detection is unsure: every pack worth checking, ``language`` first.
    candidates: tuple[str, ...] = ()

    @property
    def unsure(self) -> bool:
        return len(self.candidates) > 1

    def allows(self, language: str) -> bool:
        """Whether the text may well be in ``language`` (its best guess, or a candidate)."""
        return language == self.language or language in self.candidates


class _Lingua:
    """The detector is built once, on first use (lingua loads its models lazily)."""

    _lock = threading.Lock()
    _detector: Any = None

    @classmethod
    def get(cls) -> Any:
        if cls._detector is None:
            with cls._lock:
                if cls._detector is None:
                    from lingua import Language, LanguageDetectorBuilder

                    langs = [getattr(Language, name) for name in _CANDIDATES]
                    # Models load on the first text (0.16 s of CPU, against 0.23 s to
                    # preload every model a low-accuracy detector never reads): a one-off
                    # ``coach check`` pays less; a server warms it at start-up.
                    cls._detector = (
                        LanguageDetectorBuilder.from_languages(*langs)
                        .with_low_accuracy_mode()
                        .build()
                    )
        return cls._detector


def _lingua_scores(text: str) -> dict[str, float]:
    values = _Lingua.get().compute_language_confidence_values(text)
    return {v.language.iso_code_639_1.name.lower(): float(v.value) for v in values}


def _scores(sample: str, words: list[str], supported: tuple[str, ...]) -> dict[str, float]:
    scores = _lingua_scores(sample)
    hits = dict.fromkeys(_MARKERS, 0)
    for word in words:
        token = _fold_word(word)
        marks = _MARKED_BY.get(token, ())
        if "'" in token:
            # An elided word counts by its tail too: c'est -> est, j'ai -> ai (French, Italian).
            tail = _MARKED_BY.get(token.split("'", 1)[1], ())
            marks = (*marks, *(lang for lang in tail if lang not in marks))
        for lang in marks:
            hits[lang] += 1
    n_tokens = max(1, len(words))
    for lang, count in hits.items():
        if lang not in supported and lang not in SUPPORTED:
            continue
        scores[lang] = scores.get(lang, 0.0) + 0.8 * count / n_tokens
    for lang, letters in _UNIQUE_LETTERS.items():
        if letters.search(sample):
            # Decisive: lingua's low-accuracy mode can call a short Romanian
            # sentence English ("Factura mea este greșită din nou!").
            scores[lang] = scores.get(lang, 0.0) + 1.0
    return scores


def _pack_ranking(scores: dict[str, float], supported: tuple[str, ...]) -> list[tuple[str, float]]:
    """The loaded packs by score, best first (Indonesian counts for the Malay pack)."""
    merged: dict[str, float] = {}
    for lang, value in scores.items():
        pack = ALIASES.get(lang, lang)
        if pack in supported:
            merged[pack] = merged.get(pack, 0.0) + value
    # Ties (no signal at all) keep the packs' own order: stable and deterministic.
    return sorted(merged.items(), key=lambda kv: -kv[1])


def detect(text: str, supported: tuple[str, ...] = SUPPORTED) -> Detection:
    """Pick the rule language for ``text``.

    A short text (``SHORT_WORDS`` words or fewer) or one whose two best packs score
    close together is *unsure*: ``candidates`` then names the packs worth checking too,
    and only a language with a pack is reported as detected for a short text.
    """
    if len(_LETTER.findall(text)) < 2:
        return Detection(
            FALLBACK, None, "fallback", ["too little text to detect a language; using en"]
        )
    sample = text[:2000]
    found = _TOKEN.findall(sample)  # once: the word count and the marker scores
    words = len(found)
    scores = _scores(sample, found, supported)
    # Malay and Indonesian share one rule pack: their scores add up against the rest.
    decision = dict(scores)
    decision["ms"] = decision.get("ms", 0.0) + decision.pop("id", 0.0)
    best = max(decision, key=lambda k: decision[k])
    if best == "ms" and scores.get("id", 0.0) > scores.get("ms", 0.0):
        best = "id"
    rounded = {k: round(v, 3) for k, v in sorted(scores.items(), key=lambda kv: -kv[1])[:4]}
    ranking = _pack_ranking(scores, supported)
    pack = ALIASES.get(best, best)
    short = words <= SHORT_WORDS
    if ranking and (short or pack in supported):
        top = ranking[0][1]
        close = len(ranking) > 1 and ranking[1][1] >= CLOSE * top
        if short or close:
            return _unsure(ranking, best, words, rounded)
    if pack in supported:
        notes = []
        if best != pack:
            notes.append(f"detected {best}; checked with the {pack} rules")
        return Detection(pack, best, "detected", notes, rounded)
    return Detection(
        FALLBACK,
        best,
        "fallback",
        [f"detected {best}, which has no rule pack; using en and the language-neutral rules"],
        rounded,
    )


def _unsure(
    ranking: list[tuple[str, float]], best: str, words: int, scores: dict[str, float]
) -> Detection:
    top = ranking[0][1]
    if top <= 0.0:
        # No signal at all ("ok", "hi"): every pack is as plausible as any other.
        candidates = tuple(lang for lang, _ in ranking)
        detected = None
    else:
        candidates = tuple(lang for lang, value in ranking[:PLAUSIBLE] if value > 0.0)
        detected = ranking[0][0]
    why = f"{words} word{'s' if words != 1 else ''}" if words <= SHORT_WORDS else "close scores"
    note = (
        f"language detection is unsure ({why}): checked with the rules of "
        f"{', '.join(candidates)} and the language-neutral rules"
    )
    notes = [note]
    if detected is not None and ALIASES.get(best, best) != detected:
        notes.append(f"the detector's first guess was {best}, which has no rule pack here")
    return Detection(candidates[0], detected, "detected", notes, scores, candidates)
