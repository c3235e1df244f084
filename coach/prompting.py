"""Prompt templates and phrasebooks as data (``prompts/``), loaded into strict models.

A template is a YAML file ``prompts/<id>.yaml`` with Jinja2 sources for the
system, user and re-ask messages and the list of variables it needs. Rendering
runs in Jinja's sandbox with ``StrictUndefined``: a missing variable is a
:class:`PromptVariableError` that names it, never a silently empty prompt.
Customer and agent text is passed as variable values, which Jinja does not
evaluate, and is fenced so that it cannot close the blocks it sits in.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from jinja2 import StrictUndefined, Template, TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from prompts import PROMPTS_DIR
from rules import Category

M = TypeVar("M", bound=BaseModel)


# What every prompt calls the nine categories and the pack languages.
CATEGORY_HINTS: dict[Category, str] = {
    Category.DISMISSIVE: 'telling the customer to calm down or relax, or that it is no big deal ("calm down", "relax")',
    Category.POLICY_SHIELD: 'hiding behind rules as a refusal ("that\'s not our policy", "rules are rules")',
    Category.HELPLESS: 'saying you cannot do anything ("there\'s nothing I can do", "my hands are tied")',
    Category.BLAME: 'blaming the customer ("you misunderstood", "you should have read")',
    Category.BRUSH_OFF: 'brushing them off ("I\'m busy", "not my department", "not my problem")',
    Category.RUNAROUND: 'sending them elsewhere instead of helping ("check our FAQ", "call another number", "fill in the form")',
    Category.OVER_PROMISE: 'guarantees and total-fix promises ("I guarantee", "this will never happen again", "100%") or a commitment not allowed',
    Category.FALSE_APOLOGY: 'apologies that blame the feeling ("sorry if you feel that way", "sorry, but")',
    Category.HOSTILE: "capitals for emphasis, insults, sarcasm",
}
LANGUAGE_NAMES = {
    "en": "English",
    "tr": "Turkish",
    "ro": "Romanian",
    "fi": "Finnish",
    "ms": "Malay",
    "es": "Spanish",
    "de": "German",
    "fr": "French",
    "pt": "Portuguese",
}


class PromptError(ValueError):
    """A prompt template or phrasebook that cannot be loaded or rendered."""


class PromptVariableError(PromptError):
    """A template was rendered without a variable it needs."""

    def __init__(self, template_id: str, missing: list[str]) -> None:
        self.template_id = template_id
        self.missing = missing
        super().__init__(f"prompt {template_id}: missing variable(s): {', '.join(missing)}")


_ENV = SandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
)

# Block tags the prompt uses; in user-written text they are defused (< becomes ‹).
_FENCE_TAGS = re.compile(
    r"<(/?\s*(?:customer_message|draft|history|system|instructions?|assistant|user)\b)",
    re.IGNORECASE,
)


@lru_cache(maxsize=64)
def _compiled(source: str) -> Template:
    """Templates compile once (a few ms each); rendering is then cheap."""
    return _ENV.from_string(source)


def fence(text: str) -> str:
    """User-written text made safe to put inside the prompt's tagged blocks."""
    return _FENCE_TAGS.sub(lambda m: "‹" + m.group(1), text)


class PromptTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    description: str = ""
    temperature: float = Field(0.3, ge=0.0, le=2.0)
    variables: list[str]
    system: str
    user: str
    reask: str

    def _render(self, part: str, source: str, values: dict[str, Any]) -> str:
        try:
            return _compiled(source).render(**values).strip()
        except UndefinedError as exc:
            raise PromptVariableError(self.id, [str(exc)]) from exc
        except TemplateError as exc:
            raise PromptError(f"prompt {self.id}, {part}: {exc}") from exc

    def render(self, **values: Any) -> tuple[str, str]:
        """The system and user messages; every declared variable must be given."""
        missing = [name for name in self.variables if name not in values]
        if missing:
            raise PromptVariableError(self.id, missing)
        return self._render("system", self.system, values), self._render("user", self.user, values)

    def render_reask(
        self, reason: str, violations: list[dict[str, Any]], new_facts: list[str]
    ) -> str:
        return self._render(
            "reask",
            self.reask,
            {"reason": reason, "violations": violations, "new_facts": new_facts},
        )


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PromptError(f"{path}: {exc}") from exc


def _load(path: Path, model: type[M]) -> M:
    try:
        return model.model_validate(_read_yaml(path))
    except ValidationError as exc:
        raise PromptError(f"{path}: {exc}") from exc


@lru_cache(maxsize=16)
def load_template(template_id: str, extra_dir: Path | None = None) -> PromptTemplate:
    """``prompts/<id>.yaml`` (``extra_dir`` first); the file's own id must match."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", template_id):
        raise PromptError(f"not a prompt id: {template_id!r}")
    folders = [d for d in (extra_dir, PROMPTS_DIR) if d is not None]
    for folder in folders:
        path = folder / f"{template_id}.yaml"
        if path.is_file():
            template = _load(path, PromptTemplate)
            if template.id != template_id:
                raise PromptError(f"{path}: id {template.id!r} differs from the file name")
            # Compile once now, so a syntax error shows at load time.
            for part in ("system", "user", "reask"):
                try:
                    _compiled(getattr(template, part))
                except TemplateError as exc:
                    raise PromptError(f"{path}, {part}: {exc}") from exc
            return template
    raise PromptError(f"no prompt template {template_id!r} in {', '.join(map(str, folders))}")


def available_templates(extra_dir: Path | None = None) -> list[str]:
    # coaching templates only: techniques.yaml is data, review-* ask for findings
    found = {
        p.stem
        for p in PROMPTS_DIR.glob("*.yaml")
        if p.stem != "techniques" and not p.stem.startswith("review-")
    }
    if extra_dir is not None:
        found |= {p.stem for p in extra_dir.glob("*.yaml")}
    return sorted(found)


class TechniqueInfo(BaseModel):
    id: str
    how: str
    source: str


@lru_cache(maxsize=1)
def techniques() -> tuple[TechniqueInfo, ...]:
    data = _read_yaml(PROMPTS_DIR / "techniques.yaml")
    return tuple(TechniqueInfo.model_validate(t) for t in data["techniques"])


# --- phrasebooks: the rules coach's wording and the analysis lexicon --------


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
    name: str
    style: str
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
    book = _load(path, Phrasebook)
    if book.language != language:
        raise PromptError(f"{path}: language {book.language!r} differs from the file name")
    return book


def phrasebook_languages() -> list[str]:
    return sorted(p.stem for p in (PROMPTS_DIR / "phrasebook").glob("*.yaml"))
