"""The contract's JSON shapes (see CONTRACT.md): CheckResult, CoachRequest, CoachResult."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rules.model import Category, Severity

LanguageSource = Literal["given", "hint", "detected", "fallback"]


class Context(BaseModel):
    """What the coach knows about the conversation beyond the text."""

    model_config = ConfigDict(extra="forbid")

    customer_name: str | None = Field(None, max_length=200)
    agent_name: str | None = Field(None, max_length=200)
    company: str | None = Field(None, max_length=200)
    facts: list[str] = Field(default_factory=list, max_length=50)
    allowed_commitments: list[str] | None = Field(
        None,
        max_length=50,
        description=(
            "commitments the agent may make, e.g. refund, replacement, callback_24h, "
            "compensation. Given (even []): a commitment outside the list blocks. Left out: "
            "what the agent may promise is unknown, so a commitment in the checked text is a "
            "warning. A reply the coach writes never makes a commitment outside the list."
        ),
    )

    @property
    def authorised(self) -> tuple[str, ...]:
        """The commitments the agent may make (none when the list was left out)."""
        return tuple(self.allowed_commitments or ())

    @property
    def commitments_known(self) -> bool:
        """Whether the caller said what the agent may promise (even an empty list)."""
        return self.allowed_commitments is not None


class Violation(BaseModel):
    rule: str = Field(description="rule id: <language>.<category>.<name>")
    category: Category
    severity: Severity
    start: int = Field(ge=0, description="offset of the span in the input (Python string index)")
    end: int = Field(ge=0)
    text: str = Field(description="exactly input[start:end]")
    message: str = Field(description="why this hurts and which technique it breaks")
    suggestion: str | None = Field(None, description="a better wording, or null")
    source: Literal["rule", "model", "llm"] = Field(
        "rule",
        description=(
            "rule: a rule of a pack; model: the learned layer (a statistical finding); "
            "llm: a review by COACH_MODEL"
        ),
    )


class CheckResult(BaseModel):
    language: str = Field(description="the language whose rules were applied")
    passed: bool = Field(description="false exactly when some violation has severity block")
    violations: list[Violation]
    detected_language: str | None = Field(
        None, description="what the detector saw, when the language was not given"
    )
    language_source: LanguageSource = Field(
        "given",
        description=(
            "given (--lang/language), hint (a short text checked in the conversation's "
            "language: hint_language or customer_message), detected, or fallback "
            "(unsupported or unknown)"
        ),
    )
    checked_languages: list[str] = Field(
        default_factory=list,
        description=(
            "every rule pack the text was checked with (besides the language-neutral rules); "
            "more than one when detection was unsure (a short text, close scores)"
        ),
    )
    notes: list[str] = Field(
        default_factory=list, description="how the language was chosen, when it matters"
    )


# --- coaching: CoachRequest / CoachResult (CONTRACT.md) ----------------------

Channel = Literal["chat", "email", "phone", "social"]
Role = Literal["customer", "agent"]


class Technique(StrEnum):
    """De-escalation techniques from the seed guides (prompts/techniques.yaml says how)."""

    ACKNOWLEDGE = "acknowledge"
    APOLOGIZE = "apologize"
    EMPATHIZE = "empathize"
    STAY_CALM = "stay_calm"
    USE_NAME = "use_name"
    SIMPLIFY = "simplify"
    ROOT_CAUSE = "root_cause"
    OFFER_SOLUTION = "offer_solution"
    OFFER_ALTERNATIVES = "offer_alternatives"
    OFFER_COMPENSATION = "offer_compensation"
    PROMISE_TO_TRY = "promise_to_try"
    CONFIRM_SOLUTION = "confirm_solution"
    FURTHER_CONCERNS = "further_concerns"
    FOLLOW_UP = "follow_up"
    SET_BOUNDARY = "set_boundary"
    OFFER_SUPERVISOR = "offer_supervisor"


class Trigger(StrEnum):
    """What set the customer off (the Finnish guide's list of escalation triggers)."""

    LACK_OF_COMMUNICATION = "lack_of_communication"
    OUTAGE = "outage"
    BILLING = "billing"
    UNRESOLVED_ISSUE = "unresolved_issue"
    DISTRUST = "distrust"
    OWN_PRIORITY = "own_priority"


Emotion = Literal["angry", "frustrated", "worried", "disappointed", "confused", "neutral"]


class HistoryTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    text: str = Field(min_length=1, max_length=8000)


class CoachRequest(BaseModel):
    """One coaching round trip: the customer's message, the agent's draft, what is known."""

    model_config = ConfigDict(extra="forbid")

    customer_message: str = Field(min_length=1, max_length=8000)
    draft: str | None = Field(
        None, max_length=8000, description="the agent's draft; absent or empty means write one"
    )
    language: str | None = Field(
        None,
        max_length=35,
        description="ISO 639-1; detected from the customer message when absent",
    )
    channel: Channel = "chat"
    history: list[HistoryTurn] = Field(default_factory=list, max_length=50)
    context: Context = Field(default_factory=Context)

    @field_validator("customer_message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("customer_message must not be blank")
        return value


class CustomerState(BaseModel):
    emotion: Emotion
    escalation_risk: float = Field(ge=0.0, le=1.0)
    triggers: list[Trigger]
    abusive: bool = Field(description="insults or threats aimed at the agent or company")
    threatening: bool = Field(False, description="threats (legal action excluded: that is a right)")
    signals: list[str] = Field(
        default_factory=list, description="what the analysis saw, for the agent"
    )


class Attempt(BaseModel):
    """One model answer and what the guard did with it (the audit trail)."""

    model: str
    outcome: Literal[
        "accepted", "reask", "repaired", "invalid_output", "error", "deadline", "rejected"
    ]
    detail: str = ""
    violations: list[str] = Field(default_factory=list, description="rule ids or new-fact spans")


class CoachResult(BaseModel):
    request_id: str
    language: str
    suggestion: str = Field(description="the improved reply; it always passes the rules")
    draft_check: CheckResult | None
    suggestion_check: CheckResult
    techniques: list[Technique]
    customer_state: CustomerState
    coaching: list[str] = Field(description="short notes for the agent: what changed and why")
    model: str = Field(description='the litellm model that produced it, or "rules"')
    degraded: bool = Field(
        description="true when the reply was repaired or the rules coach stood in for the model"
    )
    prompt_version: str | None = Field(
        None, description="id of the prompt template used (null for the rules coach)"
    )
    attempts: list[Attempt] = Field(default_factory=list)
    elapsed_ms: float = 0.0
