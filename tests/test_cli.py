"""`coach check` as the contract describes it: exit codes, --json, stdin."""

from __future__ import annotations

import json
import subprocess
import sys

from coach.schemas import CheckResult


def coach(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coach.cli", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
    )


def test_blocking_text_exits_1_and_names_the_rule() -> None:
    run = coach("check", "--lang", "en", "Calm down, that's not our policy.")
    assert run.returncode == 1
    assert "en.dismissive.calm-down" in run.stdout
    assert "en.policy_shield.not-our-policy" in run.stdout
    assert run.stdout.strip().splitlines()[-1].startswith("blocked: 2 blocking")


def test_clean_text_exits_0() -> None:
    run = coach(
        "check",
        "--lang",
        "en",
        "I'm sorry the parcel is late; I've asked the courier for an update.",
    )
    assert run.returncode == 0, run.stdout
    assert run.stdout.strip().startswith("passed")


def test_json_output_is_one_check_result_with_exact_spans() -> None:
    text = "Sorry if you feel that way. I guarantee it works."
    run = coach("check", "--lang", "en", "--json", text)
    assert run.returncode == 1
    result = CheckResult.model_validate(json.loads(run.stdout))
    assert result.language == "en" and result.passed is False
    assert [(v.rule, v.start, v.end, v.text) for v in result.violations] == [
        ("en.false_apology.sorry-if-you-feel", 0, 17, "Sorry if you feel"),
        ("en.over_promise.guarantee", 28, 39, "I guarantee"),
    ]
    for v in result.violations:
        assert text[v.start : v.end] == v.text


def test_stdin_with_dash() -> None:
    run = coach("check", "--json", "-", stdin="Rules are rules.\n")
    assert run.returncode == 1
    assert json.loads(run.stdout)["violations"][0]["rule"] == "en.policy_shield.rules-are-rules"


def test_bad_usage_exits_2() -> None:
    assert coach("check", "--lang", "english!", "hello").returncode == 2
    assert coach("check", "--no-such-flag", "x").returncode == 2
    assert coach().returncode == 2
    empty = coach("check", stdin="")
    assert empty.returncode == 2 and "give the TEXT" in empty.stderr


def test_unsupported_language_falls_back_and_says_so() -> None:
    run = coach("check", "--lang", "de", "--json", "Beruhigen Sie sich. CALM DOWN PLEASE NOW.")
    result = json.loads(run.stdout)
    assert result["language"] == "en" and result["language_source"] == "fallback"
    assert any("no rule pack for de" in n for n in result["notes"])
    assert any(v["rule"] == "neutral.hostile.shouting" for v in result["violations"])


def test_check_does_not_import_heavy_dependencies() -> None:
    code = (
        "import sys; from coach.cli import main\n"
        "rc = main(['check', '--lang', 'en', 'hello there'])\n"
        "heavy = [m for m in ('litellm', 'guardrails', 'fastapi') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.stdout.strip().splitlines()[-1] == "[]"
