"""Per-language phrasebooks (``prompts/phrasebook/<lang>.yaml``): the rules coach's wording,
the incident note's headings, the markers the draft filter reads and the customer
analysis's lexicon.

Phrasebooks are what the service itself writes and reads, not what a model is told, so
they are not part of a prompt version: a language's name and writing style for the model
live in the version's ``vocabulary.yaml`` (``coach/prompting.py``).
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, ConfigDict

from coach.prompting import PromptError, load_yaml_model
from prompts import PROMPTS_DIR


class Greeting(BaseModel):
    model_config = ConfigDict(extra="forbid")
    named: str
    plain: str


class CoachPhrases(BaseModel):
    model_config = ConfigDict(extra="forbid")

    greeting: Greeting
    email_greeting: Greeting
    thanks: str
    acknowledge: dict[str, str]
    apology: str
    facts_intro: str
    restate: str  # for a confused customer: the problem put simply
    restate_facts: str  # {facts}: the order numbers and amounts the customer gave
    investigate: str
    alternative: str  # offered whenever the draft refused something
    ask_details: str
    offers: dict[str, str]
    follow_up: str
    confirm: str
    further_concerns: str
    boundary: str
    supervisor: str
    signoff: Greeting


class Lexicon(BaseModel):
    model_config = ConfigDict(extra="forbid")

    emotions: dict[str, list[str]]
    triggers: dict[str, list[str]]
    # A problem reported without feeling words ("the blender arrived broken") is a complaint.
    problems: list[str] = []
    abusive: list[str]
    threats: list[str]
    escalation: list[str]


class NoteHeadings(BaseModel):
    """Headings of the incident note, in the conversation's language."""

    model_config = ConfigDict(extra="forbid")

    title: str
    customer: str
    problem: str
    discussion: str
    agreed_solution: str
    follow_up: str
    triggers: str
    no_solution: str
    no_follow_up: str
    unknown: str


class Markers(BaseModel):
    """Patterns that tell whether a draft already greets or apologises."""

    model_config = ConfigDict(extra="forbid")

    greeting: list[str]
    apology: list[str]


class ContentMarkers(BaseModel):
    """What makes a draft sentence worth keeping (``coach/draft_filter.py``): an action the
    agent did or will do, unless a negation comes just before it or inside its word, or a
    date (a weekday, a month, "tomorrow")."""

    model_config = ConfigDict(extra="forbid")

    action: list[str]
    # Words that name a reference the customer gave ("order 1182", "1182 numaralı"): only
    # such numbers are cited back (never a CVV, a PIN or an amount someone asks for).
    reference: list[str] = []
    date: list[str]  # weekdays, months, "tomorrow": a date is a fact
    negation: list[str]


class Phrasebook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: str
    coach: CoachPhrases
    note: NoteHeadings
    markers: Markers
    content: ContentMarkers
    analysis: Lexicon


@lru_cache(maxsize=32)
def phrasebook(language: str) -> Phrasebook:
    path = PROMPTS_DIR / "phrasebook" / f"{language}.yaml"
    if not path.is_file():
        raise PromptError(f"no phrasebook for {language!r}")
    book = load_yaml_model(path, Phrasebook)
    if book.language != language:
        raise PromptError(f"{path}: language {book.language!r} differs from the file name")
    return book


def phrasebook_languages() -> list[str]:
    return sorted(p.stem for p in (PROMPTS_DIR / "phrasebook").glob("*.yaml"))
