"""`coach check` as the contract describes it: exit codes, --json, stdin."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from coach.schemas import CheckResult


def coach(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coach.cli", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
        env={**os.environ, **env} if env else None,
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
    violations = json.loads(run.stdout)["violations"]
    assert [v["category"] for v in violations] == ["policy_shield"]


def test_bad_usage_exits_2() -> None:
    assert coach("check", "--lang", "english!", "hello").returncode == 2
    assert coach("check", "--no-such-flag", "x").returncode == 2
    assert coach().returncode == 2
    empty = coach("check", stdin="")
    assert empty.returncode == 2 and "give the TEXT" in empty.stderr


def test_unsupported_language_falls_back_and_says_so() -> None:
    run = coach("check", "--lang", "it", "--json", "Si calmi. CALM DOWN PLEASE NOW.")
    result = json.loads(run.stdout)
    assert result["language"] == "en" and result["language_source"] == "fallback"
    assert any("no rule pack for it" in n for n in result["notes"])
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


def test_suggest_offline_prints_a_coach_result() -> None:
    run = coach(
        "suggest",
        "--customer",
        "You charged me twice and nobody answers!",
        "--draft",
        "Calm down. I checked your invoice.",
        "--json",
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["model"] == "rules" and result["degraded"] is False
    assert result["suggestion_check"]["passed"] is True
    assert result["draft_check"]["passed"] is False
    assert "I checked your invoice." in result["suggestion"]
    assert "Calm down" not in result["suggestion"]


def test_suggest_without_a_model_does_not_import_litellm() -> None:
    probe = (
        "import sys; from coach.cli import main; code = main(['suggest', '--customer', 'Hi, where is my parcel?']);"
        "assert 'litellm' not in sys.modules and 'guardrails' not in sys.modules, 'heavy import'; sys.exit(code)"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "model: rules" in run.stdout


def test_suggest_bad_input_exits_2(tmp_path: object) -> None:
    run = coach("suggest", "--customer", "   ")
    assert run.returncode == 2 and "customer_message" in run.stderr
    run = coach("suggest", "--customer", "hi", "--context", "/nonexistent.json")
    assert run.returncode == 2 and "--context" in run.stderr


def test_suggest_through_a_model_on_the_fake_server(fake_llm: object) -> None:
    import os

    from fake_openai_server import Answer, FakeLLM

    assert isinstance(fake_llm, FakeLLM)
    fake_llm.script(
        "cli", [Answer.reply("I'm sorry about the double charge. I am checking it now.")]
    )
    env = {
        **os.environ,
        "COACH_MODEL": "openai/cli",
        "COACH_API_BASE": fake_llm.base_url,
        "COACH_API_KEY": "sk-cli",
    }
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "coach.cli",
            "suggest",
            "--customer",
            "Charged twice!",
            "--lang",
            "en",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["model"] == "openai/cli" and result["prompt_version"] == "coach-v1"
    assert result["suggestion"] == "I'm sorry about the double charge. I am checking it now."
    assert len(fake_llm.requests_for("cli")) == 1


def test_suggest_exits_3_when_no_model_answers_and_fallback_is_off(fake_llm: object) -> None:
    import os

    from fake_openai_server import Answer, FakeLLM

    assert isinstance(fake_llm, FakeLLM)
    fake_llm.script("dead", [Answer(status=401)])
    env = {
        **os.environ,
        "COACH_MODEL": "openai/dead",
        "COACH_API_BASE": fake_llm.base_url,
        "COACH_API_KEY": "sk-cli",
        "COACH_ALLOW_RULES_FALLBACK": "false",
    }
    run = subprocess.run(
        [sys.executable, "-m", "coach.cli", "suggest", "--customer", "Charged twice!"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert run.returncode == 3, (run.stdout, run.stderr)
    assert "no model answered" in run.stderr and "HTTP 401" in run.stderr


def test_check_allow_lifts_a_commitment() -> None:
    text = "We will refund you today."
    assert coach("check", "--lang", "en", "--no-commitments", text).returncode == 1
    assert coach("check", "--lang", "en", "--allow", "replacement", text).returncode == 1
    allowed = coach("check", "--lang", "en", "--allow", "refund", text)
    assert allowed.returncode == 0, allowed.stdout
    assert "over_promise" not in allowed.stdout
    # Not told what the agent may promise: a warning that says so, not a block.
    unknown = coach("check", "--lang", "en", text)
    assert unknown.returncode == 0, unknown.stdout
    assert "en.over_promise.refund" in unknown.stdout and "No allowed_commitments" in unknown.stdout
    # Both at once contradict each other: a usage error, not one silently winning.
    both = coach("check", "--lang", "en", "--allow", "refund", "--no-commitments", text)
    assert both.returncode == 2 and "not allowed with argument" in both.stderr, both.stderr


def test_the_server_default_says_what_agents_may_promise() -> None:
    """COACH_ALLOWED_COMMITMENTS fills in for a request that says nothing (a helpdesk
    plugin cannot send the list); the request's own list still wins."""
    text = "We will refund you today."
    listed = coach("check", "--lang", "en", text, env={"COACH_ALLOWED_COMMITMENTS": "refund"})
    assert listed.returncode == 0 and "over_promise" not in listed.stdout, listed.stdout
    for none in ("none", ""):
        strict = coach("check", "--lang", "en", text, env={"COACH_ALLOWED_COMMITMENTS": none})
        assert strict.returncode == 1, (none, strict.stdout)
    own = coach(
        "check", "--lang", "en", "--allow", "replacement", text,
        env={"COACH_ALLOWED_COMMITMENTS": "refund"},
    )  # fmt: skip
    assert own.returncode == 1, own.stdout
