"""The no-new-facts check: numbers, amounts, dates, references, links and
contacts in a reply that appear in none of the inputs.

A model that writes "your refund of $49 arrives on 12 May" when nobody said
49 or 12 May has invented a promise the agent must keep. Anything with digits,
every URL and every e-mail address in the reply has to be traceable to the
customer's message, the draft, the history, the known facts or an allowed
commitment (``callback_24h`` allows "24").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from coach.schemas import CoachRequest
from rules.engine import drop_sentences

FactKind = Literal["url", "email", "number"]

_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
# A run of digits with the separators numbers, dates, phones and references use.
_NUMBER = re.compile(r"[#+]?\d(?:[\d.,:/ ()-]*\d)?")
_DIGITS = re.compile(r"\d+")
# "1." or "2)" at the start of a line: list numbering, not a fact.
_LIST_MARKER = re.compile(r"(?m)^[ \t]*\d{1,2}[.)](?=\s)")


@dataclass(frozen=True)
class NewFact:
    kind: FactKind
    start: int
    end: int
    text: str


def _canonical_url(url: str) -> str:
    url = url.lower().rstrip(".,;:!?")
    url = re.sub(r"^(?:https?://)?(?:www\.)?", "", url)
    return url.rstrip("/")


class FactSource:
    """What the inputs say: their digit runs, links and addresses, for lookups."""

    def __init__(self, texts: Iterable[str], allowed_commitments: Iterable[str] = ()) -> None:
        joined = "\n".join(t for t in texts if t)
        self._lower = joined.lower()
        self._urls = {_canonical_url(m.group()) for m in _URL.finditer(joined)}
        self._digit_runs = set(_DIGITS.findall(joined))
        for commitment in allowed_commitments:
            self._digit_runs.update(_DIGITS.findall(commitment))
        # Phone numbers and references are written with varying separators.
        self._digit_stream = "".join(_DIGITS.findall(joined))

    @classmethod
    def of_request(cls, request: CoachRequest) -> FactSource:
        """Everything a coaching request states: message, draft, history, context."""
        context = request.context
        texts = [
            request.customer_message,
            request.draft or "",
            *(t.text for t in request.history),
            *context.facts,
            context.customer_name or "",
            context.agent_name or "",
            context.company or "",
        ]
        return cls(texts, context.authorised)

    def knows_url(self, url: str) -> bool:
        canonical = _canonical_url(url)
        return any(canonical == u or canonical.startswith(u + "/") for u in self._urls) or (
            canonical in self._lower
        )

    def knows_email(self, email: str) -> bool:
        return email.lower() in self._lower

    def knows_number(self, token: str) -> bool:
        runs = _DIGITS.findall(token)
        if all(run in self._digit_runs for run in runs):
            return True
        joined = "".join(runs)
        return len(joined) >= 6 and joined in self._digit_stream


def new_facts(reply: str, source: FactSource) -> list[NewFact]:
    """Every fact-like span of ``reply`` that the inputs do not contain."""
    found: list[NewFact] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    for m in _URL.finditer(reply):
        text = m.group().rstrip(".,;:!?")
        taken.append((m.start(), m.start() + len(text)))
        if not source.knows_url(text):
            found.append(NewFact("url", m.start(), m.start() + len(text), text))
    for m in _EMAIL.finditer(reply):
        if not free(m.start(), m.end()):
            continue
        taken.append(m.span())
        if not source.knows_email(m.group()):
            found.append(NewFact("email", m.start(), m.end(), m.group()))
    markers = {
        m.start() + len(m.group()) - len(m.group().lstrip()) for m in _LIST_MARKER.finditer(reply)
    }
    for m in _NUMBER.finditer(reply):
        if not free(m.start(), m.end()) or m.start() in markers:
            continue
        text = m.group().strip(" ()-.,:/")
        start = reply.index(text, m.start())
        if not source.knows_number(text):
            found.append(NewFact("number", start, start + len(text), text))
    return sorted(found, key=lambda f: f.start)


def drop_new_facts(reply: str, facts: Iterable[NewFact]) -> str:
    """The reply without the sentences that carry invented facts."""
    return drop_sentences(reply, [(f.start, f.end) for f in facts])


# A customer sentence this long that comes back word for word is the customer's voice in
# the agent's reply (a transcript pasted back, the last message answered with itself).
ECHO_MIN_WORDS = 4


def customer_echoes(reply: str, customer_texts: Iterable[str]) -> list[tuple[int, int]]:
    """Spans of ``reply`` that repeat a customer's sentence (case, accents, spacing aside)."""
    from rules.engine import sentence_spans
    from rules.normalize import fold_string

    def folded(text: str) -> str:
        return " ".join(fold_string(text).split()).rstrip(".!?…;: ")

    theirs = {
        f
        for text in customer_texts
        for a, b in sentence_spans(text)
        if len((f := folded(text[a:b])).split()) >= ECHO_MIN_WORDS
    }
    if not theirs:
        return []
    return [
        (a, b) for a, b in sentence_spans(reply) if any(t in folded(reply[a:b]) for t in theirs)
    ]


_REFERENCE = re.compile(r"(?<![\d.,])(?<!\d )(?:#\s?)?\d{3,}[\d-]*(?! ?\d)")
_WORD_BEFORE = re.compile(r"([^\W\d_]{1,}\.?)\s+$")
_WORD_AFTER = re.compile(r"^\s+([^\W\d_]{3,}'?[^\W\d_]*)")


def customer_references(texts: Iterable[str], language: str, limit: int = 3) -> list[str]:
    """Order, ticket and booking numbers the customer gave, with the word that names them
    ("order 1182", "1182 numaralı"), for the reply to cite back. Only numbers named by one
    of the phrasebook's reference words: never a card code, a PIN or an amount."""
    from coach.phrasebook import phrasebook
    from coach.prompting import PromptError
    from rules.normalize import fold_string
    from rules.pattern import compile_any

    try:
        nouns = phrasebook(language).content.reference
    except PromptError:
        return []
    if not nouns:
        return []
    named = compile_any(nouns)
    found: list[str] = []
    for text in texts:
        for m in _REFERENCE.finditer(text):
            token = m.group().strip()
            if re.fullmatch(r"(?:19|20)\d\d", token):
                continue  # a year, not a reference
            if token.startswith("#"):
                word = None
            elif language == "tr":
                after = _WORD_AFTER.match(text[m.end() :])
                word = after.group(1) if after else ""
            else:
                before = _WORD_BEFORE.search(text[: m.start()])
                word = before.group(1) if before else ""
            if word is not None:
                if not word or not named.fullmatch(fold_string(word).rstrip(".")):
                    continue
                token = f"{token} {word}" if language == "tr" else f"{word} {token}"
            if token not in found:
                found.append(token)
    return found[:limit]
