"""`coach serve` as an operator runs it: JSON logs without personal data, graceful shutdown, notes."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import free_port, serve  # type: ignore[import-not-found]
from fake_openai_server import Answer, FakeLLM

from evals.datasets import TWITTER_CUSTOMER_CARE

DATA = TWITTER_CUSTOMER_CARE
PII = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+|(?<!\w)@\w{2,}|\d{9,}")


def customer_messages() -> list[str]:
    dialogs = json.loads(DATA.read_text(encoding="utf-8"))
    return [m["message"] for d in dialogs for m in d["dialogContent"] if "client" in m]


def test_logs_carry_no_customer_text_or_personal_data(tmp_path: Path) -> None:
    messages = customer_messages()
    with_pii = [m for m in messages if PII.search(m)]
    assert len(with_pii) > 100  # the real data does contain handles, e-mails and phone numbers
    sample = with_pii[:60]
    with serve(tmp_path) as (url, _process, log), httpx.Client(timeout=30) as client:
        for message in sample:
            assert client.post(f"{url}/v1/check", json={"text": message}).status_code == 200
            assert (
                client.post(f"{url}/v1/coach", json={"customer_message": message}).status_code
                == 200
            )
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    access = [e for e in lines if e["logger"] == "coach.api.access" and e["route"] != "/healthz"]
    assert len(access) == 120
    assert all({"request_id", "route", "status", "ms"} <= set(entry) for entry in access)
    text = log.read_text()
    for message in sample:
        for found in PII.findall(message):
            assert found not in text, found
        assert message[:40] not in text


def test_redacted_text_logging_keeps_personal_data_out(tmp_path: Path) -> None:
    sample = [m for m in customer_messages() if PII.search(m)][:40]
    with (
        serve(tmp_path, COACH_LOG_TEXT="redacted") as (url, _process, log),
        httpx.Client(timeout=30) as client,
    ):
        for message in sample:
            client.post(f"{url}/v1/check", json={"text": message})
    text = log.read_text()
    assert "[handle]" in text and ("[email]" in text or "[phone]" in text or "[card]" in text)
    for message in sample:
        for found in PII.findall(message):
            assert found not in text, found


def test_graceful_shutdown_finishes_in_flight_requests_and_loses_no_feedback(
    tmp_path: Path,
) -> None:
    with FakeLLM(
        responder=lambda _: Answer.reply("I'm sorry about that. I am checking it now."), latency=1.0
    ) as llm:
        env = {"COACH_MODEL": "openai/slow", "COACH_API_BASE": llm.base_url, "COACH_API_KEY": "sk"}
        with serve(tmp_path, **env) as (url, process, log):
            first = httpx.post(
                f"{url}/v1/coach", json={"customer_message": "Where is my parcel?"}, timeout=30
            )
            request_id = first.json()["request_id"]
            coach_codes: list[int] = []
            feedback_ids: list[int] = []
            refused = 0
            lock = threading.Lock()

            def slow_coach() -> None:
                r = httpx.post(
                    f"{url}/v1/coach", json={"customer_message": "Still waiting!"}, timeout=30
                )
                with lock:
                    coach_codes.append(r.status_code)

            def feedback_loop() -> None:
                nonlocal refused
                with httpx.Client(timeout=10) as client:
                    for _ in range(200):
                        try:
                            r = client.post(
                                f"{url}/v1/feedback",
                                json={"request_id": request_id, "action": "accepted"},
                            )
                        except httpx.TransportError:
                            with lock:
                                refused += 1
                            return
                        if r.status_code == 201:
                            with lock:
                                feedback_ids.append(r.json()["id"])
                        else:
                            return  # 503 while shutting down, or a closed connection

            workers = [threading.Thread(target=slow_coach) for _ in range(4)]
            workers += [threading.Thread(target=feedback_loop) for _ in range(3)]
            for w in workers:
                w.start()
            # SIGTERM only once all four coach requests wait on the slow model (a fixed
            # sleep raced a loaded machine: the requests had not reached the server yet).
            deadline = time.monotonic() + 30
            while len(llm.requests) < 5 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert len(llm.requests) == 5
            process.send_signal(signal.SIGTERM)
            for w in workers:
                w.join(timeout=60)
            # uvicorn re-raises the signal once it has shut down cleanly.
            assert process.wait(timeout=30) in (0, -signal.SIGTERM)
            assert "Application shutdown complete" in log.read_text()
    assert coach_codes == [200, 200, 200, 200]  # in flight at SIGTERM, all finished
    assert feedback_ids
    with sqlite3.connect(tmp_path / "coach.db") as conn:
        stored = {row[0] for row in conn.execute("select id from feedback")}
    assert set(feedback_ids) <= stored  # every 201 is on disk


@pytest.mark.parametrize(
    ("language", "customer", "agent", "heading"),
    [
        (
            "en",
            "My bill is wrong again, write to me at jo@example.com!",
            "I refunded the extra charge.",
            "Agreed solution",
        ),
        (
            "ro",
            "Factura mea este greșită din nou!",
            "Am returnat suma în plus.",
            "Soluția convenită",
        ),
        ("fi", "Laskuni on taas väärin!", "Palautin ylimääräisen veloituksen.", "Sovittu ratkaisu"),
        (
            "ms",
            "Bil saya salah lagi!",
            "Saya telah memulangkan caj tambahan.",
            "Penyelesaian yang dipersetujui",
        ),
        ("tr", "Faturam yine yanlış!", "Fazla ücreti iade ettim.", "Üzerinde anlaşılan çözüm"),
    ],
)
def test_incident_notes_in_the_conversation_language(
    api_url: str, language: str, customer: str, agent: str, heading: str
) -> None:
    body = {
        "history": [{"role": "customer", "text": customer}, {"role": "agent", "text": agent}],
        "context": {"customer_name": "Jo"},
        "follow_up": "check on Friday",
    }
    note = httpx.post(f"{api_url}/v1/note", json=body).json()
    assert note["language"] == language
    assert f"{heading}: {agent}" in note["text"]
    assert note["customer"] == "Jo" and note["follow_up"] == "check on Friday"
    assert "billing" in note["triggers"]
    assert "jo@example.com" not in note["text"]


def test_several_workers_share_one_store(tmp_path: Path) -> None:
    with (
        serve(tmp_path, "--workers", "2") as (url, _process, log),
        httpx.Client(timeout=30) as client,
    ):
        ids = [
            client.post(
                f"{url}/v1/coach", json={"customer_message": f"Where is order {n}?"}
            ).json()["request_id"]
            for n in range(10)
        ]
        codes = [
            client.post(
                f"{url}/v1/feedback", json={"request_id": rid, "action": "accepted"}
            ).status_code
            for rid in ids
        ]
    assert codes == [201] * 10
    assert log.read_text().count("Application startup complete") == 2
    with sqlite3.connect(tmp_path / "coach.db") as conn:
        assert conn.execute("select count(*) from feedback").fetchone() == (10,)


def test_default_store_is_logged_and_ignored_by_git(tmp_path: Path) -> None:
    """`coach serve` with no settings writes reply-coach.db in the working directory,
    says so at start-up, and a clone's .gitignore keeps the file out of `git status`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COACH_")}
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "coach.cli", "serve", "--port", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
            env=environment,
            cwd=tmp_path,
        )
        try:
            deadline = time.monotonic() + 60
            while "Application startup complete" not in log.read_text():
                assert process.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    where = [e["msg"] for e in lines if "records go to" in e["msg"]]
    assert where == [f"feedback and audit records go to sqlite file {tmp_path / 'reply-coach.db'}"]
    assert (tmp_path / "reply-coach.db").exists()
    root = Path(__file__).resolve().parents[1]
    ignored = subprocess.run(
        ["git", "check-ignore", "reply-coach.db", "reply-coach.db-wal"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert ignored.stdout.split() == ["reply-coach.db", "reply-coach.db-wal"]
