"""The feedback store on both backends: an embedded SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import running_server  # type: ignore[import-not-found]
from sqlalchemy import text

from coach.settings import CoachSettings
from coach.store import Store, UnknownRequest, describe_url, metadata


def postgres_url() -> str:
    url = os.environ.get("COACH_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("COACH_REQUIRE_POSTGRES"):
            pytest.fail("COACH_REQUIRE_POSTGRES is set but COACH_TEST_POSTGRES_URL is not")
        pytest.skip("no PostgreSQL: `bash .ci/postgres.sh` starts one and prints its URL")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    url = postgres_url()
    fresh = Store(url)
    metadata.drop_all(fresh.engine)
    fresh.close()
    yield url


def suggestion(request_id: str) -> tuple[dict[str, object], dict[str, object]]:
    request = {"customer_message": "Charged twice!", "draft": "Calm down.", "channel": "email"}
    result = {
        "request_id": request_id,
        "language": "en",
        "model": "openai/x",
        "prompt_version": "coach-v1",
        "degraded": False,
        "suggestion": "I'm sorry about the double charge.",
    }
    return request, result


def test_suggestions_feedback_and_export(store_url: str) -> None:
    store = Store(store_url)
    store.save_suggestion(*suggestion("r-1"))
    store.save_suggestion(*suggestion("r-2"))
    edited = store.add_feedback("r-1", "edited", "I'm so sorry about the double charge.", "key1")
    rejected = store.add_feedback("r-2", "rejected", None)
    assert edited.id != rejected.id
    with pytest.raises(UnknownRequest):
        store.add_feedback("r-404", "accepted", None)
    assert store.count_feedback() == 2
    candidates = list(store.export_gold_candidates())
    assert [c["reference_reply"] for c in candidates] == [
        "I'm so sorry about the double charge.",
        None,
    ]
    assert candidates[1]["rejected_suggestion"] == "I'm sorry about the double charge."
    assert candidates[0]["source"]["prompt_version"] == "coach-v1"
    assert candidates[0]["channel"] == "email" and candidates[0]["draft"] == "Calm down."
    store.close()
    # Durable: a new process (a new engine) sees the rows.
    again = Store(store_url)
    assert again.count_feedback() == 2
    again.close()


def test_concurrent_feedback_keeps_every_row(store_url: str) -> None:
    store = Store(store_url)
    store.save_suggestion(*suggestion("r-many"))
    ids: list[int] = []
    lock = threading.Lock()

    def writer() -> None:
        for _ in range(25):
            row = store.add_feedback("r-many", "accepted", None)
            with lock:
                ids.append(row.id)

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == len(set(ids)) == 200
    assert store.feedback_ids() == set(ids)
    store.close()


def test_the_api_stores_feedback_in_postgresql(tmp_path: Path) -> None:
    url = postgres_url()
    fresh = Store(url)
    metadata.drop_all(fresh.engine)
    fresh.close()
    with running_server(CoachSettings(database_url=url)) as api:
        ready = httpx.get(f"{api}/readyz").json()
        assert ready["store"] == "postgresql"
        result = httpx.post(
            f"{api}/v1/coach", json={"customer_message": "Where is my parcel?!"}
        ).json()
        created = httpx.post(
            f"{api}/v1/feedback", json={"request_id": result["request_id"], "action": "accepted"}
        )
        assert created.status_code == 201
    store = Store(url)
    with store.engine.connect() as conn:
        row = conn.execute(
            text(
                "select f.action, s.suggestion from feedback f join suggestions s using (request_id)"
            )
        ).one()
    assert tuple(row) == ("accepted", result["suggestion"])
    store.close()


def test_feedback_export_command(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'export.db'}"
    store = Store(url)
    for rid, action, final in (
        ("a", "accepted", None),
        ("b", "edited", "Better."),
        ("c", "rejected", None),
    ):
        store.save_suggestion(*suggestion(rid))
        store.add_feedback(rid, action, final)
    store.close()
    out = tmp_path / "gold.jsonl"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "coach.cli",
            "feedback",
            "export",
            "--database-url",
            url,
            "--out",
            str(out),
            "--action",
            "edited",
            "--action",
            "accepted",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "exported 2" in run.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["source"]["action"], r["reference_reply"]) for r in rows] == [
        ("accepted", "I'm sorry about the double charge."),
        ("edited", "Better."),
    ]


def test_store_locations_read_well_in_logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert describe_url("sqlite:///reply-coach.db") == f"sqlite file {tmp_path / 'reply-coach.db'}"
    assert describe_url("sqlite://").startswith("sqlite in memory")
    shown = describe_url("postgresql://coach:s3cret@db.internal:5432/coach")
    assert "s3cret" not in shown
    assert shown == "postgresql://coach:***@db.internal:5432/coach"
