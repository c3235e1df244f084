"""Everything a model is told, as versioned data (``prompts/<version>/``).

A prompt version is one folder; ``COACH_PROMPT_VERSION`` (``coach eval
--prompt-version``) switches all of it at once:

* ``coach.yaml``: the coaching prompt (system, user), the re-ask after a reply the
  guard rejected (``reask``, with its ``reasons``) and the re-ask after junk (``invalid``);
* ``review.yaml``: the LLM review of a text (``review: true``);
* ``judge.yaml``: the LLM-as-judge rubric of ``coach eval --judge``;
* ``vocabulary.yaml``: what the prompts call the nine categories, the four channels'
  styles and every language's name and register;
* ``techniques.yaml``: the de-escalation techniques taught to the model.

Templates are Jinja2 run in the sandbox with ``StrictUndefined``: a missing variable is a
:class:`PromptVariableError` that names it, never a silently empty prompt. Each template
declares its variables, and a version that declares one the service never passes, leaves
out a category, a channel or a technique, or names one that does not exist, fails to
load. Customer and agent text is passed as variable values, which Jinja does not
evaluate, and is fenced so that it cannot close the blocks it sits in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar, get_args

import yaml
from jinja2 import StrictUndefined, Template, TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from coach.schemas import Channel, Technique
from prompts import PROMPTS_DIR
from rules import Category

M = TypeVar("M", bound=BaseModel)

VERSION_ID = r"[a-z0-9][a-z0-9._-]*"

# What the service passes to each template: a template may use these and no others.
COACH_VARIABLES = frozenset(
    {
        "language_code",
        "language_name",
        "language_style",
        "channel",
        "channel_style",
        "techniques",
        "categories",
        "allowed_commitments",
        "facts",
        "customer_name",
        "agent_name",
        "company",
        "customer_message",
        "draft",
        "history",
        "customer_state",
    }
)
REVIEW_VARIABLES = frozenset({"language_code", "language_name", "categories", "text"})
JUDGE_VARIABLES = frozenset(
    {"customer_message", "reply_a", "reply_b", "words_a", "words_b", "sample"}
)
REASK_VARIABLES = frozenset({"reason", "violations", "new_facts"})
INVALID_VARIABLES = frozenset({"error"})
REASON_VARIABLES = frozenset({"language_code", "language_name", "seen_code", "seen_name"})
# The reasons a coaching re-ask gives, in the order they are joined.
REASONS = ("rules", "wrong_language", "echoes", "default")
PART_VARIABLES = {"coach": COACH_VARIABLES, "review": REVIEW_VARIABLES, "judge": JUDGE_VARIABLES}
CHANNELS: tuple[str, ...] = get_args(Channel)


class PromptError(ValueError):
    """A prompt version, template or phrasebook that cannot be loaded or rendered."""


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
    r"<(/?\s*(?:customer_message|draft|history|system|instructions?|assistant|user|"
    r"customer|reply_[ab])\b)",
    re.IGNORECASE,
)


@lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    """Templates compile once (a few ms each); rendering is then cheap."""
    return _ENV.from_string(source)


def fence(text: str) -> str:
    """User-written text made safe to put inside the prompt's tagged blocks."""
    return _FENCE_TAGS.sub(lambda m: "‹" + m.group(1), text)


class PromptTemplate(BaseModel):
    """One part of a version (``coach``, ``review``, ``judge``); ``id`` is
    ``<version>/<part>``, set by the loader."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    description: str = ""
    temperature: float = Field(0.3, ge=0.0, le=2.0)
    variables: list[str]
    system: str
    user: str
    # coach: the message after a reply the guard rejected (reason, violations, new_facts)
    reask: str = ""
    # the message after an answer that is not the JSON asked for (error)
    invalid: str = ""
    # coach: the pieces of the re-ask's reason (REASONS), joined in that order
    reasons: dict[str, str] = {}

    def _render(self, part: str, source: str, values: dict[str, Any]) -> str:
        try:
            return _compiled(source).render(**values).strip()
        except UndefinedError as exc:
            raise PromptVariableError(f"{self.id} ({part})", [str(exc)]) from exc
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

    def render_invalid(self, error: str) -> str:
        return self._render("invalid", self.invalid, {"error": error})

    def render_reason(self, key: str, **values: Any) -> str:
        return self._render(f"reasons.{key}", self.reasons[key], values)


class LanguageInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    style: str = ""


class Vocabulary(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    categories: dict[str, str]
    channels: dict[str, str]
    languages: dict[str, LanguageInfo]


class TechniqueInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    how: str
    source: str


@dataclass(frozen=True)
class PromptSet:
    """One prompt version: every string a model is shown."""

    version: str
    folder: Path
    coach: PromptTemplate
    review: PromptTemplate
    judge: PromptTemplate
    vocabulary: Vocabulary
    techniques: tuple[TechniqueInfo, ...]

    def categories(self) -> list[dict[str, str]]:
        """``[{"id", "what"}]`` in the categories' fixed order."""
        return [{"id": c.value, "what": self.vocabulary.categories[c.value]} for c in Category]

    def language(self, code: str) -> LanguageInfo:
        """The language's name and style; a language the version does not name (a custom
        pack's) is called by its code, which ``coach prompts check`` reports."""
        return self.vocabulary.languages.get(code) or LanguageInfo(name=code or "?")

    def channel_style(self, channel: str) -> str:
        return self.vocabulary.channels[channel]

    def templates(self) -> dict[str, PromptTemplate]:
        return {"coach": self.coach, "review": self.review, "judge": self.judge}


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PromptError(f"{path}: {exc}") from exc


def load_yaml_model(path: Path, model: type[M], **extra: Any) -> M:
    data = _read_yaml(path)
    if extra and isinstance(data, dict):
        clash = sorted(set(data) & set(extra))
        if clash:
            raise PromptError(f"{path}: {', '.join(clash)} is set by the loader, not the file")
        data = {**data, **extra}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise PromptError(f"{path}: {exc}") from exc


def _same_keys(path: Path, what: str, found: set[str], expected: set[str]) -> None:
    unknown, missing = sorted(found - expected), sorted(expected - found)
    if unknown:
        raise PromptError(f"{path}: unknown {what}: {', '.join(unknown)}")
    if missing:
        raise PromptError(f"{path}: no {what} for: {', '.join(missing)}")


def _template(folder: Path, version: str, part: str) -> PromptTemplate:
    path = folder / f"{part}.yaml"
    template = load_yaml_model(path, PromptTemplate, id=f"{version}/{part}")
    known = PART_VARIABLES[part]
    strangers = sorted(set(template.variables) - known)
    if strangers:
        raise PromptError(
            f"{path}: declares variable(s) the service never passes: {', '.join(strangers)} "
            f"(it passes {', '.join(sorted(known))})"
        )
    sources = {"system": template.system, "user": template.user}
    if part != "judge":
        sources["invalid"] = template.invalid
    if part == "coach":
        sources["reask"] = template.reask
        _same_keys(path, "reasons", set(template.reasons), set(REASONS))
        sources |= {f"reasons.{k}": v for k, v in template.reasons.items()}
    for name, source in sources.items():
        if not source.strip():
            raise PromptError(f"{path}: {name} is empty")
        try:  # compile now, so that a syntax error shows at load time
            _compiled(source)
        except TemplateError as exc:
            raise PromptError(f"{path}, {name}: {exc}") from exc
    return template


def version_folder(version: str, extra_dir: Path | None = None) -> Path:
    """``<extra_dir>/<version>/`` when it exists, else ``prompts/<version>/``."""
    if not re.fullmatch(VERSION_ID, version):
        raise PromptError(f"not a prompt version id: {version!r}")
    folders = [d for d in (extra_dir, PROMPTS_DIR) if d is not None]
    for folder in folders:
        if (folder / version / "coach.yaml").is_file():
            return folder / version
    raise PromptError(f"no prompt version {version!r} in {', '.join(map(str, folders))}")


@lru_cache(maxsize=16)
def load_prompt_set(version: str, extra_dir: Path | None = None) -> PromptSet:
    """The version's five files, validated together (see the module's docstring)."""
    folder = version_folder(version, extra_dir)
    vocabulary = load_yaml_model(folder / "vocabulary.yaml", Vocabulary)
    path = folder / "vocabulary.yaml"
    _same_keys(path, "categories", set(vocabulary.categories), {c.value for c in Category})
    _same_keys(path, "channels", set(vocabulary.channels), set(CHANNELS))
    data = _read_yaml(folder / "techniques.yaml")
    try:
        found = tuple(TechniqueInfo.model_validate(t) for t in (data or {})["techniques"])
    except (KeyError, TypeError, ValidationError) as exc:
        raise PromptError(f"{folder / 'techniques.yaml'}: {exc}") from exc
    _same_keys(
        folder / "techniques.yaml",
        "techniques",
        {t.id for t in found},
        {t.value for t in Technique},
    )
    return PromptSet(
        version=version,
        folder=folder,
        coach=_template(folder, version, "coach"),
        review=_template(folder, version, "review"),
        judge=_template(folder, version, "judge"),
        vocabulary=vocabulary,
        techniques=found,
    )


def available_versions(extra_dir: Path | None = None) -> list[str]:
    """The prompt versions found (built in, and in ``extra_dir``)."""
    folders = [d for d in (PROMPTS_DIR, extra_dir) if d is not None]
    return sorted(
        {p.parent.name for folder in folders for p in folder.glob("*/coach.yaml")} - {"phrasebook"}
    )
