"""The gold set: JSON Lines files validated against ``evals/gold/schema.json``."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
from pydantic import BaseModel, ConfigDict, Field

from coach.schemas import CoachRequest, Trigger

GOLD_DIR = Path(__file__).resolve().parent / "gold"
SCHEMA_PATH = GOLD_DIR / "schema.json"


class GoldError(ValueError):
    """A gold file that cannot be used; the message names the file and line."""


class Assertions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    draft_flags: list[str] = Field(default_factory=list)
    draft_not_flags: list[str] = Field(default_factory=list)
    draft_passes: bool | None = None
    techniques: list[str] = Field(default_factory=list)
    reply_contains: list[str] = Field(default_factory=list)
    reply_not_contains: list[str] = Field(default_factory=list)
    reply_matches: list[str] = Field(default_factory=list)
    reply_not_matches: list[str] = Field(default_factory=list)
    reply_language: str | None = None
    abusive: bool | None = None
    triggers: list[Trigger] = Field(default_factory=list)


class GoldCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    language: str
    tags: list[str] = Field(default_factory=list)
    source: str
    note: str | None = None
    input: dict[str, Any]
    assert_: Assertions = Field(alias="assert")
    reference_reply: str

    def request(self) -> CoachRequest:
        return CoachRequest.model_validate(self.input)


@lru_cache(maxsize=4)
def _validator(schema_path: Path) -> jsonschema.Draft202012Validator:
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def read_jsonl(
    path: Path | str, schema_path: Path, error: type[ValueError], what: str
) -> list[tuple[str, dict[str, Any]]]:
    """Every object of a ``.jsonl`` file (or of every ``.jsonl`` file of a folder), each valid
    against ``schema_path``, with where it is (``file:line``); ids must be unique. A bad
    line raises ``error`` naming file, line and field."""
    root = Path(path)
    files = sorted(root.glob("*.jsonl")) if root.is_dir() else [root]
    if not files:
        raise error(f"{root}: no .jsonl {what} files")
    found: list[tuple[str, dict[str, Any]]] = []
    seen: dict[str, str] = {}
    for file in files:
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise error(f"{file}: {exc}") from exc
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{file}:{number}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise error(f"{where}: not JSON ({exc.msg})") from exc
            errors = sorted(_validator(schema_path).iter_errors(data), key=lambda e: list(e.path))
            if errors:
                first = errors[0]
                at = "/".join(str(p) for p in first.path) or what
                raise error(f"{where}: {at}: {first.message}")
            if data["id"] in seen:
                raise error(f"{where}: duplicate id {data['id']} (first in {seen[data['id']]})")
            seen[data["id"]] = where
            found.append((where, data))
    return found


def load_gold(path: Path | str = GOLD_DIR) -> list[GoldCase]:
    """Every case in a ``.jsonl`` file, or in every ``.jsonl`` file of a folder."""
    return [
        GoldCase.model_validate(data)
        for _, data in read_jsonl(path, SCHEMA_PATH, GoldError, "gold")
    ]
