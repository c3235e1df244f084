"""Request and response bodies of the HTTP API that are not the core contract shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from coach.schemas import Context, HistoryTurn
from rules.model import RulePublic


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=20_000)
    language: str | None = Field(
        None, max_length=35, description="ISO 639-1; detected when absent (forces one pack)"
    )
    context: Context | None = None
    customer_message: str | None = Field(
        None,
        max_length=8000,
        description=(
            "the customer's message, a language hint: when the text is too short to detect "
            "(1-3 words, close scores) it is checked in the conversation's language first"
        ),
    )
    hint_language: str | None = Field(
        None,
        max_length=35,
        description="the conversation's language (ISO 639-1), a hint like customer_message",
    )
    review: bool = Field(
        False,
        description=(
            "also ask COACH_MODEL to review the text (findings with source llm, severity warn); "
            "a failing or slow model never fails the check: notes say so"
        ),
    )


class RulesPublic(BaseModel):
    languages: list[str]
    count: int
    rules: list[RulePublic]


FeedbackAction = Literal["accepted", "edited", "rejected"]


class FeedbackCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: str = Field(min_length=1, max_length=64)
    action: FeedbackAction
    final_text: str | None = Field(
        None, max_length=20_000, description="the text the agent sent (required for edited)"
    )

    @model_validator(mode="after")
    def _edited_needs_text(self) -> FeedbackCreate:
        if self.action == "edited" and not (self.final_text and self.final_text.strip()):
            raise ValueError("final_text is required when action is edited")
        return self


class FeedbackPublic(BaseModel):
    id: int
    request_id: str
    action: FeedbackAction
    created_at: datetime


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ready"]
    languages: list[str]
    rules: int
    model: str
    store: str
    redis: Literal["off", "up", "down"] = Field(
        "off",
        description=(
            "rate limits shared through Redis: up, down (each process limits alone until "
            "it answers again; still ready), or off (no COACH_REDIS_URL)"
        ),
    )


class NoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    history: list[HistoryTurn] = Field(min_length=1, max_length=100)
    language: str | None = Field(None, max_length=35)
    agreed_solution: str | None = Field(None, max_length=4000)
    follow_up: str | None = Field(None, max_length=4000)
    context: Context = Field(default_factory=Context)


class IncidentNote(BaseModel):
    language: str
    customer: str
    problem: str
    discussion: list[str]
    agreed_solution: str
    follow_up: str
    triggers: list[str]
    text: str = Field(
        description="the note as one text, with the headings in the conversation's language"
    )
