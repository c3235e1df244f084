"""The contract's JSON shapes (see CONTRACT.md): Context, Violation, CheckResult."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rules.model import Category, Severity

LanguageSource = Literal["given", "detected", "fallback"]


class Context(BaseModel):
    """What the coach knows about the conversation beyond the text."""

    model_config = ConfigDict(extra="forbid")

    customer_name: str | None = Field(None, max_length=200)
    agent_name: str | None = Field(None, max_length=200)
    company: str | None = Field(None, max_length=200)
    facts: list[str] = Field(default_factory=list, max_length=50)
    allowed_commitments: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="commitments the agent may make, e.g. refund, replacement, callback_24h, compensation",
    )


class Violation(BaseModel):
    rule: str = Field(description="rule id: <language>.<category>.<name>")
    category: Category
    severity: Severity
    start: int = Field(ge=0, description="offset of the span in the input (Python string index)")
    end: int = Field(ge=0)
    text: str = Field(description="exactly input[start:end]")
    message: str = Field(description="why this hurts and which technique it breaks")
    suggestion: str | None = Field(None, description="a better wording, or null")


class CheckResult(BaseModel):
    language: str = Field(description="the language whose rules were applied")
    passed: bool = Field(description="false exactly when some violation has severity block")
    violations: list[Violation]
    detected_language: str | None = Field(
        None, description="what the detector saw, when the language was not given"
    )
    language_source: LanguageSource = Field(
        "given",
        description="given (--lang/language), detected, or fallback (unsupported or unknown)",
    )
    notes: list[str] = Field(
        default_factory=list, description="how the language was chosen, when it matters"
    )
