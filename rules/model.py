"""What a rule pack file may contain (validated with pydantic)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

RULE_NAME = r"^[a-z0-9][a-z0-9_-]*$"


class Category(StrEnum):
    """The nine fixed categories of the contract."""

    DISMISSIVE = "dismissive"
    POLICY_SHIELD = "policy_shield"
    HELPLESS = "helpless"
    BLAME = "blame"
    BRUSH_OFF = "brush_off"
    RUNAROUND = "runaround"
    OVER_PROMISE = "over_promise"
    FALSE_APOLOGY = "false_apology"
    HOSTILE = "hostile"


class Severity(StrEnum):
    BLOCK = "block"
    WARN = "warn"


class RuleKind(StrEnum):
    """The few kinds the engine knows (after Vale): the rest is data."""

    EXISTENCE = "existence"  # any pattern match is a finding
    SUBSTITUTION = "substitution"  # like existence; the suggestion can replace the span as is
    COMMITMENT = "commitment"  # an over-promise unless context allows the commitment
    CAPITALS = "capitals"  # shouting: a sentence written mostly in capitals


class Examples(BaseModel):
    model_config = ConfigDict(extra="forbid")

    flag: list[str] = Field(default_factory=list, description="lines this rule must flag")
    # "pass" is a Python keyword, hence the alias.
    pass_: list[str] = Field(
        default_factory=list, alias="pass", description="lines it must leave alone"
    )
    soften: list[str] = Field(
        default_factory=list,
        description=(
            "lines it must flag as a warning only, because they offer a way forward (softened_by)"
        ),
    )


class CapitalsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: Literal["sentence", "word"] = Field(
        "sentence",
        description=(
            "sentence: a sentence mostly in capitals; word: one word in capitals for "
            'emphasis in a sentence that is not ("I have ALREADY told you")'
        ),
    )
    min_letters: int = Field(12, description="letters in the sentence (or the word) at least")
    min_ratio: float = 0.75
    min_words: int = 2
    ignore: list[str] = Field(
        default_factory=list,
        description="scope word: words written in capitals as a matter of course (IBAN, PDF)",
    )


class RuleSpec(BaseModel):
    """One rule as written in a pack."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(pattern=RULE_NAME)
    kind: RuleKind = RuleKind.EXISTENCE
    severity: Severity
    patterns: list[str] = Field(default_factory=list)
    exceptions: list[str] = Field(
        default_factory=list,
        description="patterns whose match overlapping a finding cancels it (hedges, quotes, negation)",
    )
    softened_by: list[str] = Field(
        default_factory=list,
        description=(
            "this rule's own offers of a way forward (added to the pack's softened_by): a "
            "blocking finding whose sentence, or the next one, matches one becomes a warning"
        ),
    )
    message: str = Field(min_length=10, description="why this hurts and which technique it breaks")
    suggestion: str | None = Field(None, description="a better wording in the pack's language")
    commitment: str | None = Field(
        None,
        description="kind commitment: the commitment id that context.allowed_commitments can allow",
    )
    capitals: CapitalsParams | None = None
    boundary: bool = Field(True, description="matches must start and end at word boundaries")
    source: str | None = Field(None, description="overrides the pack's source")
    examples: Examples
    line: int = Field(0, alias="__line__", exclude=True)

    @field_validator("patterns", "exceptions", "softened_by")
    @classmethod
    def _no_blank(cls, values: list[str]) -> list[str]:
        if any(not v.strip() for v in values):
            raise ValueError("patterns must not be blank")
        return values


class PackFile(BaseModel):
    """One YAML file: one language, one category, several rules."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    language: str = Field(pattern=r"^([a-z]{2}|neutral)$")
    category: Category
    source: str = Field(
        min_length=3, description="which seed guide (or other source) the rules come from"
    )
    rules: list[RuleSpec] = Field(min_length=1)
    softened_by: list[str] = Field(
        default_factory=list,
        description=(
            "patterns of a way forward the agent offers (an alternative, what they can do "
            "instead): a blocking finding of this pack in a sentence that, or whose next "
            "sentence, matches one is reported as a warning"
        ),
    )
    when_softened: Literal["warn", "pass"] = Field(
        "warn",
        description=(
            "what a softened finding of this pack becomes: `warn` (advice to reword), or "
            "`pass` (no finding: the way forward makes it no violation of the category, "
            "as a policy stated together with an alternative is no policy_shield)"
        ),
    )
    line: int = Field(0, alias="__line__", exclude=True)

    @field_validator("softened_by")
    @classmethod
    def _no_blank_softener(cls, values: list[str]) -> list[str]:
        if any(not v.strip() for v in values):
            raise ValueError("patterns must not be blank")
        return values


class RulePublic(BaseModel):
    """A loaded rule as the API and `GET /v1/rules` show it."""

    id: str
    language: str
    category: Category
    severity: Severity
    kind: RuleKind
    patterns: list[str]
    exceptions: list[str]
    message: str
    suggestion: str | None
    commitment: str | None
    source: str
    origin: Literal["builtin", "custom"]
    file: str
