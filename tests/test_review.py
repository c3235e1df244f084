"""The LLM review (coach/review.py) over real HTTP: POST /v1/check with "review": true against
the fake OpenAI-compatible server on loopback (litellm's real HTTP path), and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from conftest import running_server  # type: ignore[import-not-found]
from fake_openai_server import Answer, FakeLLM, Recorded

from coach.settings import CoachSettings

TEXT = "Thanks for waiting. I moved you to the plan you asked for. I have refunded the difference."
# What the fake reviewer reports: a category no rule and no model finding covers in TEXT, so
# that what the test sees is the review's own finding.
QUOTE = "I have refunded the difference"
CATEGORY = "over_promise"
REASON = "A refund the agent may not be allowed to give."


def findings(*items: dict[str, str]) -> Answer:
    return Answer(json.dumps({"findings": list(items)}))


def is_review(request: Recorded) -> bool:
    return "You review replies" in request.messages[0]["content"]


def settings(tmp_path: Path, fake: FakeLLM, model: str, **extra: object) -> CoachSettings:
    return CoachSettings(
        database_url=f"sqlite:///{tmp_path / 'coach.db'}",
        model=f"openai/{model}",
        api_base=fake.base_url,
        api_key="sk-test",
        max_retries=0,
        **extra,  # type: ignore[arg-type]
    )


def post(url: str, **body: object) -> httpx.Response:
    return httpx.post(f"{url}/v1/check", json={"language": "en", **body}, timeout=30)


def test_a_faithful_review_adds_grounded_warnings(tmp_path: Path, fake_llm: FakeLLM) -> None:
    fake_llm.responder = lambda r: findings(
        {"category": CATEGORY, "quote": QUOTE, "reason": REASON}
    )
    with running_server(settings(tmp_path, fake_llm, "faithful")) as url:
        plain = post(url, text=TEXT).json()
        assert not [v for v in plain["violations"] if v["source"] == "llm"]
        assert not fake_llm.requests  # no review asked for, no call
        reply = post(url, text=TEXT, review=True)
        assert reply.status_code == 200
        llm = [v for v in reply.json()["violations"] if v["source"] == "llm"]
        assert not [v for v in plain["violations"] if v["category"] == CATEGORY]
        assert len(llm) == 1
        v = llm[0]
        assert v["rule"] == "en.over_promise.llm" and v["severity"] == "warn"
        assert TEXT[v["start"] : v["end"]] == v["text"] == QUOTE
        assert REASON in v["message"] and "openai/faithful" in v["message"]
        assert reply.json()["passed"] == plain["passed"]  # a review only warns
        request = fake_llm.requests[0]
        assert request.body["temperature"] == 0.0 or "temperature" in request.body
        assert TEXT in request.messages[1]["content"]  # the text, inside its block
        # the same text again: answered from the cache, no second call
        again = post(url, text=TEXT, review=True).json()
        assert len(fake_llm.requests) == 1
        assert again["violations"] == reply.json()["violations"]


def test_invented_quotes_and_categories_are_dropped_and_counted(
    tmp_path: Path, fake_llm: FakeLLM
) -> None:
    text = "I have refunded the difference. Honestly, some people never read anything."
    fake_llm.responder = lambda r: findings(
        {"category": "hostile", "quote": "some people never read anything", "reason": "sneer"},
        {"category": "blame", "quote": "you never read the terms", "reason": "invented"},
        {"category": "rudeness", "quote": "Honestly", "reason": "not a category"},
        {"category": "hostile"},  # no quote
    )
    with running_server(settings(tmp_path, fake_llm, "inventive", detectors=["rules"])) as url:
        result = post(url, text=text, review=True).json()
    llm = [v for v in result["violations"] if v["source"] == "llm"]
    rules_hostile = [v for v in result["violations"] if v["source"] == "rule" and v["category"] == "hostile"]  # fmt: skip
    assert len(llm) == (0 if rules_hostile else 1)
    assert all(text[v["start"] : v["end"]] == v["text"] for v in result["violations"])
    note = next(n for n in result["notes"] if "dropped" in n)
    assert "1 (quote not in the text)" in note and "1 (unknown category)" in note
    assert "1 (malformed)" in note


def test_junk_is_asked_again_once_then_the_check_stands(tmp_path: Path, fake_llm: FakeLLM) -> None:
    fake_llm.responder = lambda r: Answer("I think the reply is mostly fine!")
    with running_server(settings(tmp_path, fake_llm, "junk")) as url:
        reply = post(url, text="Calm down. " + TEXT, review=True)
    assert reply.status_code == 200
    result = reply.json()
    assert not result["passed"]  # the rules' verdict is intact
    assert any(v["rule"] == "en.dismissive.calm-down" for v in result["violations"])
    assert not [v for v in result["violations"] if v["source"] == "llm"]
    assert any("review failed" in n and "invalid_output" in n for n in result["notes"])
    assert len(fake_llm.requests) == 2  # the first answer and one re-ask


def test_a_slow_model_times_out_and_the_check_still_answers(
    tmp_path: Path, fake_llm: FakeLLM
) -> None:
    fake_llm.responder = lambda r: Answer(json.dumps({"findings": []}), delay=5.0)
    with running_server(settings(tmp_path, fake_llm, "slow", timeout_s=1.0)) as url:
        started = time.monotonic()
        reply = post(url, text=TEXT, review=True)
        took = time.monotonic() - started
    assert reply.status_code == 200 and took < 4.0
    assert any("review failed" in n and "deadline" in n for n in reply.json()["notes"])


def test_a_failing_model_falls_back_then_notes_the_failure(
    tmp_path: Path, fake_llm: FakeLLM
) -> None:
    def answer(request: Recorded) -> Answer:
        if request.model == "broken":
            return Answer(status=500)
        return findings({"category": CATEGORY, "quote": QUOTE, "reason": REASON})

    config = settings(
        tmp_path, fake_llm, "broken", fallback_models=["openai/backup"], detectors=["model"]
    )
    fake_llm.responder = answer
    with running_server(config) as url:
        result = post(url, text=TEXT, review=True).json()
    assert [r.model for r in fake_llm.requests] == ["broken", "backup"]
    assert [v["rule"] for v in result["violations"] if v["source"] == "llm"] == [
        "en.over_promise.llm"
    ]
    fake_llm.reset()
    fake_llm.responder = lambda r: Answer(status=500)
    with running_server(settings(tmp_path, fake_llm, "down")) as url:
        reply = post(url, text=TEXT, review=True)
    assert reply.status_code == 200
    assert any("review failed (openai/down" in n for n in reply.json()["notes"])


def test_a_review_finding_where_another_detector_reports_the_category_is_dropped() -> None:
    from coach.checker import check
    from coach.review import Reviewed, grounded, merge

    text = "Calm down. I have refunded the difference."
    base = check(text, "en", detectors=["rules"])
    assert [v.category for v in base.violations] == ["dismissive"]
    found, dropped = grounded(
        text,
        "en",
        [
            {"category": "dismissive", "quote": "Calm down", "reason": "dup"},
            {"category": CATEGORY, "quote": QUOTE, "reason": REASON},
            {"category": CATEGORY, "quote": QUOTE, "reason": "the same words twice"},
        ],
        "m",
    )
    assert dropped == {"quote not in the text": 1}  # the second copy has no unused occurrence
    merged = merge(base, Reviewed(violations=found, notes=["n"]))
    assert [(v.source, v.category) for v in merged.violations] == [
        ("rule", "dismissive"),
        ("llm", CATEGORY),
    ]
    assert merged.notes[-1] == "n" and merged.passed == base.passed


def test_without_a_model_the_review_is_a_note(tmp_path: Path) -> None:
    with running_server(CoachSettings(database_url=f"sqlite:///{tmp_path / 'c.db'}")) as url:
        reply = post(url, text=TEXT, review=True)
    assert reply.status_code == 200
    assert any("no model is configured" in n for n in reply.json()["notes"])


def test_coach_check_review_on_the_command_line(fake_llm: FakeLLM) -> None:
    fake_llm.responder = lambda r: findings(
        {"category": CATEGORY, "quote": QUOTE, "reason": REASON}
    )
    env = {
        **os.environ,
        "COACH_MODEL": "openai/cli-reviewer",
        "COACH_API_BASE": fake_llm.base_url,
        "COACH_API_KEY": "sk-test",
        "COACH_DETECTORS": "model",
    }
    done = subprocess.run(
        [sys.executable, "-m", "coach.cli", "check", "--review", "--json", "--lang", "en", TEXT],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    result = json.loads(done.stdout)
    assert [v["rule"] for v in result["violations"] if v["source"] == "llm"] == [
        "en.over_promise.llm"
    ]
    assert fake_llm.requests_for("cli-reviewer")


def test_the_coach_reviews_the_draft_when_a_model_answers(
    tmp_path: Path, fake_llm: FakeLLM
) -> None:
    def answer(request: Recorded) -> Answer:
        if is_review(request):
            return findings({"category": CATEGORY, "quote": QUOTE, "reason": REASON})
        return Answer.reply("I'm sorry about the wrong plan. I have refunded the difference.")

    fake_llm.responder = answer
    with running_server(settings(tmp_path, fake_llm, "coachrev", detectors=["model"])) as url:
        reply = httpx.post(
            f"{url}/v1/coach",
            json={
                "customer_message": "You charged me for the wrong plan!",
                "draft": TEXT,
                "language": "en",
            },
            timeout=30,
        )
    assert reply.status_code == 200, reply.text
    result = reply.json()
    llm = [v for v in result["draft_check"]["violations"] if v["source"] == "llm"]
    assert [v["text"] for v in llm] == [QUOTE]
    assert any(QUOTE in note for note in result["coaching"])
    assert sum(is_review(r) for r in fake_llm.requests) == 1


def test_the_corpus_eval_has_a_row_with_the_review(tmp_path: Path, fake_llm: FakeLLM) -> None:
    """``coach eval --corpus --detector rules+model+llm``: the review's finding counts for
    recall (its category the other layers miss), its answers are cached on disk, and
    without a model the row is refused with a clear error."""
    missed = (
        "Thanks for waiting. I moved you to the plan you asked for. I have refunded the difference."
    )
    clean = "Thanks for waiting, your parcel left the warehouse this morning."
    rows = [
        {
            "id": f"en-{i:04d}",
            "language": "en",
            "text": missed if i % 2 else clean,
            "categories": [CATEGORY] if i % 2 else [],
            "register": "neutral",
            "spelling": "standard",
            "situation": "plan",
            "tricky": False,
        }
        for i in range(1, 13)
    ]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    fake_llm.responder = lambda r: findings(
        {"category": CATEGORY, "quote": QUOTE, "reason": REASON}
        if QUOTE in r.messages[-1]["content"]
        else {"category": "dismissive", "quote": "not in the text", "reason": "invented"}
    )
    env = {
        **os.environ,
        "COACH_API_BASE": fake_llm.base_url,
        "COACH_API_KEY": "sk-test",
        "COACH_MAX_RETRIES": "0",
    }
    command = [
        sys.executable, "-m", "coach.cli", "eval", "--corpus", str(corpus),
        "--split", "train", "--split", "dev", "--split", "test",
        "--detector", "rules", "--detector", "rules+model+llm",
        "--model", "openai/reviewer", "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "out"),
    ]  # fmt: skip
    subprocess.run(command, capture_output=True, text=True, env=env, check=True, timeout=300)
    asked = len([r for r in fake_llm.requests if is_review(r)])
    assert asked == 2  # one review per distinct text
    result = json.loads((tmp_path / "out" / "corpus.json").read_text())
    for split, cells in result["detectors"]["rules+model+llm"].items():
        rules = result["detectors"]["rules"][split]["en"]
        reviewed = cells["en"]
        if rules["violating"]:
            assert rules["by_category"][CATEGORY]["recall"] == 0.0
            assert reviewed["by_category"][CATEGORY]["recall"] == 1.0
        if rules["clean"]:
            assert reviewed["clean_flagged"] == 0.0  # the invented quote was dropped
    # A second run asks nothing: every answer is on disk.
    subprocess.run(command, capture_output=True, text=True, env=env, check=True, timeout=300)
    assert len([r for r in fake_llm.requests if is_review(r)]) == asked
    no_model = subprocess.run(
        [*command[:-6], "--out", str(tmp_path / "out2")],
        capture_output=True, text=True, env={**env, "COACH_MODEL": "rules"}, timeout=300,
    )  # fmt: skip
    assert no_model.returncode == 2
    assert "needs a model" in no_model.stderr
