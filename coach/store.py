"""Durable records: every suggestion the API returns and the agent's feedback on it.

SQLAlchemy Core over an embedded SQLite file by default, or PostgreSQL with
``COACH_DATABASE_URL=postgresql://...`` (psycopg 3). Writes are synchronous
and committed before the API answers, so an accepted feedback (201) is on
disk. Rows keep what a prompt engineer needs to turn feedback into gold-set
candidates: the request, the suggestion, the model and the prompt version.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

metadata = MetaData()

suggestions = Table(
    "suggestions",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("language", String(16), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("model", String(200), nullable=False),
    Column("prompt_version", String(100)),
    Column("degraded", Integer, nullable=False),
    Column("request", JSON, nullable=False),
    Column("suggestion", Text, nullable=False),
    Column("result", JSON, nullable=False),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "request_id",
        String(64),
        ForeignKey("suggestions.request_id"),
        nullable=False,
        index=True,
    ),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("action", String(16), nullable=False),
    Column("final_text", Text),
    Column("api_key_id", String(32)),
)


class UnknownRequest(LookupError):
    """Feedback for a request id the store has never seen."""


@dataclass(frozen=True)
class FeedbackRow:
    id: int
    request_id: str
    created_at: datetime
    action: str
    final_text: str | None


def _engine_url(url: str) -> str:
    # psycopg 3 is the driver; users write the plain postgresql:// URL.
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.removeprefix("postgres://")
    return url


def describe_url(url: str) -> str:
    """A database URL as a person reads it in a log: the SQLite file's absolute path, or
    the URL with its password hidden."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            return f"sqlite in memory ({database or ':memory:'})"
        return f"sqlite file {Path(database).resolve()}"
    return parsed.render_as_string(hide_password=True)


def make_engine(url: str) -> Engine:
    real = _engine_url(url)
    if real.startswith("sqlite"):
        engine = create_engine(real, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
            cursor.execute("PRAGMA synchronous=FULL")  # a committed row survives a crash
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(real, pool_size=10, max_overflow=20, pool_pre_ping=True)


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        try:
            metadata.create_all(self.engine)
        except (OperationalError, ProgrammingError, IntegrityError):
            # Another worker created the tables at the same moment: they are there now.
            metadata.create_all(self.engine)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @property
    def location(self) -> str:
        """Where the records go, for the start-up log line."""
        return describe_url(self.url)

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> bool:
        with self.engine.connect() as conn:
            conn.execute(select(1))
        return True

    def save_suggestion(self, request: dict[str, Any], result: dict[str, Any]) -> None:
        row = {
            "request_id": result["request_id"],
            "created_at": datetime.now(UTC),
            "language": result["language"],
            "channel": request.get("channel") or "chat",
            "model": result["model"],
            "prompt_version": result.get("prompt_version"),
            "degraded": int(bool(result.get("degraded"))),
            "request": request,
            "suggestion": result["suggestion"],
            "result": result,
        }
        with self.engine.begin() as conn:
            conn.execute(insert(suggestions).values(**row))

    def add_feedback(
        self, request_id: str, action: str, final_text: str | None, api_key_id: str | None = None
    ) -> FeedbackRow:
        now = datetime.now(UTC)
        try:
            with self.engine.begin() as conn:
                # One statement: the foreign key, not a prior SELECT, proves the request exists.
                new_id = conn.execute(
                    insert(feedback)
                    .values(
                        request_id=request_id,
                        created_at=now,
                        action=action,
                        final_text=final_text,
                        api_key_id=api_key_id,
                    )
                    .returning(feedback.c.id)
                ).scalar_one()
        except IntegrityError as exc:  # a concurrent delete, or a foreign key race
            raise UnknownRequest(request_id) from exc
        return FeedbackRow(int(new_id), request_id, now, action, final_text)

    def count_feedback(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(feedback)).scalar_one())

    def feedback_ids(self) -> set[int]:
        with self.engine.connect() as conn:
            return {int(r[0]) for r in conn.execute(select(feedback.c.id))}

    def export_gold_candidates(self) -> Iterator[dict[str, Any]]:
        """Feedback joined with its suggestion, shaped as eval gold-set candidates.

        An edited or accepted reply becomes the case's reference reply; a
        rejected one is kept with the rejected suggestion so a prompt engineer
        can write the reference by hand.
        """
        query = (
            select(
                feedback,
                suggestions.c.request,
                suggestions.c.suggestion,
                suggestions.c.model,
                suggestions.c.prompt_version,
                suggestions.c.language,
                suggestions.c.result,
            )
            .join(suggestions, feedback.c.request_id == suggestions.c.request_id)
            .order_by(feedback.c.id)
        )
        with self.engine.connect() as conn:
            for row in conn.execute(query).mappings():
                request = (
                    row["request"]
                    if isinstance(row["request"], dict)
                    else json.loads(row["request"])
                )
                action = row["action"]
                reference = (
                    row["final_text"]
                    if action == "edited"
                    else (row["suggestion"] if action == "accepted" else None)
                )
                yield {
                    "id": f"feedback-{row['id']}",
                    "source": {
                        "request_id": row["request_id"],
                        "action": action,
                        "model": row["model"],
                        "prompt_version": row["prompt_version"],
                        "created_at": row["created_at"].isoformat(),
                    },
                    "language": row["language"],
                    "customer_message": request.get("customer_message"),
                    "draft": request.get("draft"),
                    "history": request.get("history") or [],
                    "context": request.get("context") or {},
                    "channel": request.get("channel") or "chat",
                    "reference_reply": reference,
                    "rejected_suggestion": row["suggestion"] if action == "rejected" else None,
                }
