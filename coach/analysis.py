"""Customer analysis: emotion, escalation risk, triggers, abuse (deterministic).

The lexicons live in the phrasebooks (``prompts/phrasebook/<lang>.yaml``) and
use the rule packs' pattern language, so they match inflected, unaccented and
oddly spaced text the same way the rules do. English is always consulted as
well: customers mix in English words ("refund", "error") in every language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from coach.phrasebook import Lexicon, phrasebook
from coach.prompting import PromptError
from coach.schemas import CustomerState, Emotion, HistoryTurn, Trigger
from rules.normalize import fold_string
from rules.pattern import compile_any, word_matches

# When two emotions score the same, the stronger one is reported.
_EMOTION_ORDER: tuple[Emotion, ...] = ("angry", "frustrated", "worried", "disappointed", "confused")
_EMOTION_RISK: dict[str, float] = {
    "angry": 0.25,
    "frustrated": 0.15,
    "worried": 0.1,
    "disappointed": 0.1,
    "confused": 0.05,
    "neutral": 0.0,
}
_LETTER = re.compile(r"[^\W\d_]")
# Three capitalised words in a row ("YOU ARE IDIOTS") is shouting, even in a calmer message.
_CAPS_WORDS = re.compile(r"(?:\b[^\W\d_a-z]{2,}\b\W+){2,}\b[^\W\d_a-z]{2,}\b")


@dataclass(frozen=True)
class _Matcher:
    pattern: re.Pattern[str]

    def find(self, folded: str) -> list[str]:
        return [m.group(0) for m in word_matches(self.pattern, folded)]


def _matcher(patterns: Iterable[str]) -> _Matcher | None:
    items = [p for p in patterns if p.strip()]
    if not items:
        return None
    return _Matcher(compile_any(items))


@dataclass(frozen=True)
class _CompiledLexicon:
    emotions: dict[str, _Matcher]
    triggers: dict[Trigger, _Matcher]
    problems: _Matcher | None
    abusive: _Matcher | None
    threats: _Matcher | None
    escalation: _Matcher | None


def _compile(lexicon: Lexicon) -> _CompiledLexicon:
    def table(source: dict[str, list[str]]) -> dict[str, _Matcher]:
        return {k: m for k, v in source.items() if (m := _matcher(v)) is not None}

    return _CompiledLexicon(
        emotions=table(lexicon.emotions),
        triggers={Trigger(k): m for k, m in table(lexicon.triggers).items()},
        problems=_matcher(lexicon.problems),
        abusive=_matcher(lexicon.abusive),
        threats=_matcher(lexicon.threats),
        escalation=_matcher(lexicon.escalation),
    )


@lru_cache(maxsize=16)
def _lexicons(language: str) -> tuple[_CompiledLexicon, ...]:
    languages = [language] if language == "en" else [language, "en"]
    out = []
    for lang in languages:
        try:
            out.append(_compile(phrasebook(lang).analysis))
        except PromptError:
            continue
    return tuple(out)


def _shouting(text: str) -> bool:
    if any(m.group().isupper() for m in _CAPS_WORDS.finditer(text)):
        return True
    letters = _LETTER.findall(text)
    if len(letters) < 12:
        return False
    upper = sum(1 for ch in letters if ch.isupper())
    return upper / len(letters) >= 0.6


def analyze(message: str, language: str, history: Sequence[HistoryTurn] = ()) -> CustomerState:
    """What state the customer is in, from their message and earlier turns."""
    folded = fold_string(message)
    earlier = [t.text for t in history if t.role == "customer"]
    folded_all = fold_string("\n".join([*earlier, message]))
    emotion_hits: dict[str, int] = {}
    triggers: dict[Trigger, None] = {}
    abusive: list[str] = []
    threats: list[str] = []
    escalation: list[str] = []
    problems: list[str] = []
    for lex in _lexicons(language):
        for label, found in lex.emotions.items():
            emotion_hits[label] = emotion_hits.get(label, 0) + len(found.find(folded))
        for trigger, by_trigger in lex.triggers.items():
            if by_trigger.find(folded_all):
                triggers[trigger] = None
        for bucket, matcher in (
            (abusive, lex.abusive),
            (threats, lex.threats),
            (escalation, lex.escalation),
            (problems, lex.problems),
        ):
            if matcher is not None:
                bucket.extend(matcher.find(folded))
    shouting = _shouting(message)
    if abusive or threats or shouting:
        emotion_hits["angry"] = emotion_hits.get("angry", 0) + 1
    best = max((emotion_hits.get(e, 0) for e in _EMOTION_ORDER), default=0)
    emotion: Emotion = (
        next(e for e in _EMOTION_ORDER if emotion_hits.get(e, 0) == best) if best else "neutral"
    )
    if emotion == "neutral" and (triggers or problems or "!" in message) and folded.strip():
        emotion = "frustrated"  # a complaint with no feeling words is still a complaint
    if len(earlier) >= 1 and Trigger.UNRESOLVED_ISSUE not in triggers and emotion != "neutral":
        triggers[Trigger.UNRESOLVED_ISSUE] = None

    exclamations = message.count("!")
    risk = 0.1 + _EMOTION_RISK[emotion]
    risk += min(len(triggers), 3) * 0.08
    risk += 0.2 if escalation else 0.0
    risk += 0.25 if abusive else 0.0
    risk += 0.3 if threats else 0.0
    risk += 0.1 if shouting else 0.0
    risk += min(exclamations, 2) * 0.05
    risk += min(len(earlier), 3) * 0.05

    signals: list[str] = []
    if shouting:
        signals.append("writes in capitals")
    if exclamations >= 2:
        signals.append(f"{exclamations} exclamation marks")
    kinds = (
        ("problem", problems),
        ("insult", abusive),
        ("threat", threats),
        ("escalation", escalation),
    )
    for kind, words in kinds:
        signals.extend(f"{kind}: {w!r}" for w in dict.fromkeys(words))
    if earlier:
        signals.append(f"{len(earlier)} earlier message(s) from the customer")
    return CustomerState(
        emotion=emotion,
        escalation_risk=round(min(max(risk, 0.0), 1.0), 2),
        triggers=list(triggers),
        abusive=bool(abusive or threats),
        threatening=bool(threats),
        signals=signals,
    )
