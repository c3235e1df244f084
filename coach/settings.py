"""All COACH_* settings in one validated class (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class CoachSettings(BaseSettings):
    """Configuration from the environment (prefix ``COACH_``); no ``.env`` file is read."""

    model_config = SettingsConfigDict(env_prefix="COACH_", extra="ignore")

    model: str = Field(
        "rules",
        description="litellm model string of the coaching LLM; 'rules' (default) is the offline rules coach",
    )
    api_base: str | None = Field(None, description="base URL handed to litellm for that model")
    api_key: str | None = Field(None, description="key handed to litellm for that model")
    fallback_models: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="comma-separated litellm models tried in order"
    )
    timeout_s: float = Field(
        20.0, gt=0, le=600, description="overall deadline of one coaching request"
    )
    rules_dir: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="extra rule pack folders (comma-separated) loaded on top of the built-in packs",
    )
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="keys that may call the HTTP API; empty means open"
    )
    prompt_version: str = Field(
        "coach-v1",
        description=(
            "the prompt version (a folder prompts/<id>/: coaching, review and judge prompts, "
            "vocabulary and techniques) used for every model call"
        ),
    )
    prompts_dir: Path | None = Field(
        None, description="extra folder of prompt versions, searched before the built-in ones"
    )
    max_reasks: int = Field(
        2, ge=0, le=5, description="re-asks of a model whose reply breaks a rule, before repair"
    )
    max_retries: int = Field(
        2, ge=0, le=10, description="retries of one model on transient errors (429, 5xx, timeouts)"
    )
    allow_rules_fallback: bool = Field(
        True,
        description="when no model answers, the rules coach stands in (false: HTTP 503 instead)",
    )
    database_url: str = Field(
        "sqlite:///reply-coach.db",
        description="feedback and audit store (SQLite file or postgresql://)",
    )

    redis_url: str | None = Field(
        None,
        description=(
            "optional redis:// URL: rate limits shared by every replica (without it each "
            "process keeps its own); when Redis does not answer, each process limits alone"
        ),
    )
    review_cache_ttl_s: int = Field(
        86_400,
        ge=1,
        description="how long Redis keeps an LLM review's answer for other replicas (with COACH_REDIS_URL)",
    )
    rate_limit_per_minute: int = Field(
        600,
        ge=0,
        description="requests per minute per API key (or client address when open); 0 = off",
    )
    max_body_bytes: int = Field(
        262_144, ge=1024, description="largest accepted request body (HTTP 413 above)"
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="origins allowed to call the API from a browser (the widget's helpdesk pages)",
    )
    log_text: Literal["off", "redacted"] = Field(
        "off",
        description="whether request logs carry message text: off (default) or redacted (no e-mails, phones, cards)",
    )

    passthrough: bool = Field(
        True,
        description=(
            "POST /v1/chat/completions: a request that is neither a reply nor a draft to improve "
            "(a summary, label suggestions) goes to COACH_MODEL unchanged and its answer is "
            "still checked; false (or no model): refused with HTTP 422"
        ),
    )
    review_drafts: bool = Field(
        True,
        description=(
            "with a model configured, /v1/coach first asks it to review the agent's draft "
            "(findings with source llm in draft_check and the coaching notes); one more call"
        ),
    )
    detectors: Annotated[list[Literal["rules", "model", "semantic"]], NoDecode] = Field(
        default_factory=lambda: ["rules", "model"],  # type: ignore[arg-type]
        min_length=1,
        description=(
            "which detectors check a text: rules (the packs), model (the learned layer), "
            "semantic (the learned layer's meaning encoder: off by default, tens of ms a "
            "text, needs the semantic extra)"
        ),
    )
    allowed_commitments: Annotated[list[str] | None, NoDecode] = Field(
        None,
        description=(
            "commitments agents may make when a request leaves context.allowed_commitments "
            "out, comma-separated (refund,callback_24h); 'none' or empty: no commitment is "
            "authorised and every one blocks; unset: what agents may promise is unknown, so "
            "a commitment in a draft is a warning"
        ),
    )
    cache_dir: str | None = Field(
        None,
        description=(
            "where a one-off check keeps what compiling the built-in packs works out "
            "(rules/packcache.py; read there from the environment): default "
            "$XDG_CACHE_HOME/reply-coach or ~/.cache/reply-coach; off: no cache"
        ),
    )

    @field_validator(
        "fallback_models", "api_keys", "rules_dir", "cors_origins", "detectors", mode="before"
    )
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("allowed_commitments", mode="before")
    @classmethod
    def _commitments(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() == "none":
            return []
        return _split_csv(value)

    @field_validator("model", mode="before")
    @classmethod
    def _default_model(cls, value: object) -> object:
        return "rules" if value in (None, "") else value


@lru_cache(maxsize=1)
def get_settings() -> CoachSettings:
    return CoachSettings()
