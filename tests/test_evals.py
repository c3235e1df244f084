"""The eval runner end to end, with the fake OpenAI-compatible server as the model."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fake_openai_server import Answer, FakeLLM, Recorded
from rich.console import Console

from coach.settings import CoachSettings
from evals.chrf import chrf
from evals.compare import compare, mcnemar_p
from evals.gold import GOLD_DIR, GoldError, load_gold
from evals.metrics import summarize
from evals.report import SUMMARY_METRICS, render, summary_cells
from evals.run import compare_table, run_eval, summary_table
from evals.runner import CaseResult, Check

CASES = [
    {
        "id": "en-good",
        "language": "en",
        "source": "handwritten",
        "input": {
            "customer_message": "You charged me twice!",
            "draft": "Calm down, I will check it.",
        },
        "assert": {
            "draft_flags": ["dismissive"],
            "draft_not_flags": ["over_promise"],
            "draft_passes": False,
            "techniques": ["apologize", "further_concerns"],
            "reply_not_contains": ["calm down"],
            "reply_language": "en",
        },
        "reference_reply": "I'm sorry about the double charge. I'm checking it now. Anything else I can help with?",
    },
    {
        "id": "en-must-fail",
        "language": "en",
        "source": "handwritten",
        "input": {
            "customer_message": "Where is my parcel?",
            "draft": "It is on its way.",
            "context": {"facts": ["tracking number ZX-000"]},
        },
        "assert": {"reply_contains": ["tracking number ZX-000"], "draft_passes": True},
        "reference_reply": "Your parcel is on its way; here is the tracking number ZX-000.",
    },
    {
        "id": "en-missed-flag",
        "language": "en",
        "source": "handwritten",
        "input": {
            "customer_message": "The parcel got wet.",
            # Blame the rules do not catch (implied, no "you should have").
            "draft": "Most people pick the pickup point for exactly this reason.",
        },
        "assert": {"draft_flags": ["blame"]},
        "reference_reply": "I'm sorry your parcel got wet. I'm reporting it to the courier now.",
    },
]
GOOD = "I'm sorry about that. I'm checking it now. Is there anything else I can help with?"


@pytest.fixture
def gold(tmp_path: Path) -> Path:
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in CASES) + "\n", encoding="utf-8")
    return path


def settings_for(llm: FakeLLM) -> CoachSettings:
    return CoachSettings(api_base=llm.base_url, api_key="sk-eval", timeout_s=20)


def test_runner_end_to_end_with_metrics_and_cache(
    fake_llm: FakeLLM, gold: Path, tmp_path: Path
) -> None:
    fake_llm.responder = lambda _r: Answer.reply(GOOD, ["apologize"])
    out, cache = tmp_path / "run", tmp_path / "cache"
    run = run_eval(
        gold=gold,
        model="openai/evalfake",
        out=out,
        cache_dir=cache,
        base=settings_for(fake_llm),
        console=Console(quiet=True),
    )
    assert (out / "results.json").is_file() and (out / "report.html").is_file()
    model = run["systems"]["openai/evalfake"]
    assert set(run["systems"]) == {"openai/evalfake", "rules"}  # the baseline row is always there
    by_id = {c["id"]: c for c in model["cases"]}
    assert by_id["en-good"]["passed"] and by_id["en-good"]["reply"] == GOOD
    failing = by_id["en-must-fail"]
    assert not failing["passed"]
    assert [c["name"] for c in failing["checks"] if not c["passed"]] == [
        "contains 'tracking number ZX-000'"
    ]
    assert not by_id["en-missed-flag"]["passed"]
    metrics = model["metrics"]
    assert metrics["pass_rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert metrics["guard_pass_rate"] == 1.0 and metrics["language_correct"] == 1.0
    assert metrics["technique_coverage"] == 1.0
    rules = metrics["rules"]
    assert rules["overall"] == {
        "tp": 1,
        "fp": 0,
        "fn": 1,
        "precision": 1.0,
        "recall": 0.5,
        "f1": 0.6667,
    }
    assert rules["by_category"]["blame"]["recall"] == 0.0
    # chrF++ against the reference, 0..100: the reply sharing the reference's wording scores highest.
    assert "similarity" not in metrics
    chrfs = {c["id"]: c["chrf"] for c in model["cases"]}
    assert all(0.0 < v <= 100.0 for v in chrfs.values()), chrfs
    assert chrfs["en-good"] > 60 > chrfs["en-missed-flag"] > chrfs["en-must-fail"]
    assert 0.0 < metrics["chrf"] <= 100.0
    assert metrics["chrf"] == pytest.approx(sum(chrfs.values()) / 3, abs=0.01)
    assert metrics["by_language"]["en"]["chrf"] == metrics["chrf"]
    assert run["run"]["cache"] == {"dir": str(cache), "hits": 0, "misses": 3}
    html = (out / "report.html").read_text()
    assert "en-must-fail" in html and "tracking number ZX-000" in html

    # A re-run answers from the cache: same results, no request reaches the model.
    asked = len(fake_llm.requests)
    again = run_eval(
        gold=gold,
        model="openai/evalfake",
        out=tmp_path / "run2",
        cache_dir=cache,
        base=settings_for(fake_llm),
        console=Console(quiet=True),
    )
    assert len(fake_llm.requests) == asked
    assert again["run"]["cache"]["hits"] == 3
    assert [c["reply"] for c in again["systems"]["openai/evalfake"]["cases"]] == [
        c["reply"] for c in model["cases"]
    ]


def model_run(fake_llm: FakeLLM, gold: Path, tmp_path: Path, name: str) -> dict[str, Any]:
    """The gold file through the fake model ``openai/<name>``, uncached, no baseline."""
    return run_eval(
        gold=gold,
        model=f"openai/{name}",
        out=tmp_path / name,
        cache_dir=None,
        base=settings_for(fake_llm),
        console=Console(quiet=True),
        baseline=False,
    )


def test_compare_reports_fixed_and_broken_cases(
    fake_llm: FakeLLM, gold: Path, tmp_path: Path
) -> None:
    fake_llm.responder = lambda _r: Answer.reply(GOOD)
    a = model_run(fake_llm, gold, tmp_path, "a")

    def better(request: Recorded) -> Answer:
        return Answer.reply(
            "I'm sorry about that. Your tracking number ZX-000 is in the parcel note. Anything else?"
        )

    fake_llm.responder = better
    b = model_run(fake_llm, gold, tmp_path, "b")
    result = compare(a, b)
    assert result["fixed"] == ["en-must-fail"]
    assert "too few" in result["significance"]
    rows = {r["metric"]: r for r in result["metrics"]}
    assert rows["pass_rate"]["verdict"] == "better"


def test_compare_with_a_run_from_before_chrf_says_n_a(
    fake_llm: FakeLLM, gold: Path, tmp_path: Path
) -> None:
    """Runs written before chrF++ have "similarity" and no "chrf": compare must not crash."""
    fake_llm.responder = lambda _r: Answer.reply(GOOD)
    new = model_run(fake_llm, gold, tmp_path, "new")
    old = json.loads(json.dumps(new))
    for system in old["systems"].values():
        metrics = system["metrics"]
        metrics["similarity"] = 0.61
        del metrics["chrf"], metrics["judge"]
        for case in system["cases"]:
            case["similarity"] = case.pop("chrf") / 100
    for a, b in ((old, new), (new, old)):
        rows = {r["metric"]: r for r in compare(a, b)["metrics"]}
        assert rows["chrf"]["delta"] is None and rows["chrf"]["verdict"] == "n/a"
        assert rows["judge"]["verdict"] == "n/a"  # no judge in either run
        assert rows["pass_rate"]["verdict"] == "same"
        assert "similarity" not in rows


def test_chrf_is_surface_overlap_in_any_language() -> None:
    """chrF++: 100 for the reference itself, a paraphrase sharing words above an unrelated
    reply, inflected forms (Finnish, Turkish) still sharing character n-grams."""
    triples = [
        (
            "I'm sorry about the double charge. I'm checking it now.",
            "Sorry for the double charge, I'm checking it right now.",
            "Your parcel left our warehouse yesterday.",
        ),
        (
            "Pahoittelen kaksinkertaista veloitusta. Tarkistan asian nyt.",
            "Olen pahoillani kaksinkertaisesta veloituksesta. Tarkistan sen.",
            "Pakettisi lähti varastolta eilen.",
        ),
        (
            "Çift ödeme için özür dilerim. Hemen kontrol ediyorum.",
            "Çift ödemeden dolayı özür dilerim, hemen kontrol ediyorum.",
            "Kargonuz dün depodan çıktı.",
        ),
    ]
    for reference, paraphrase, unrelated in triples:
        assert chrf(reference, reference) == 100.0
        assert chrf(paraphrase, reference) > 40.0 > 15.0 > chrf(unrelated, reference) >= 0.0, (
            reference
        )
    assert chrf("", "I'm checking it now.") == 0.0
    assert chrf("I'm checking it now.", "  ") == 0.0
    # Not a meaning measure: the same request in another language shares almost nothing.
    assert chrf("Rauhoittukaa nyt.", "Please calm down.") < 15.0


def test_mcnemar() -> None:
    assert mcnemar_p(0, 0) == 1.0
    assert mcnemar_p(10, 0) == pytest.approx(2 / 1024)
    assert mcnemar_p(5, 5) == 1.0


def test_a_position_biased_judge_scores_one_half(
    fake_llm: FakeLLM, gold: Path, tmp_path: Path
) -> None:
    """The judge always says "A": swapping the order cancels the bias out."""

    def respond(request: Recorded) -> Answer:
        if request.model == "always-a":
            return Answer(json.dumps({"winner": "A", "reason": "first is best"}))
        return Answer.reply(GOOD)

    fake_llm.responder = respond
    run = run_eval(
        gold=gold,
        model="openai/coach",
        out=tmp_path / "j",
        cache_dir=None,
        judge_model="openai/always-a",
        judge_samples=2,
        base=settings_for(fake_llm),
        console=Console(quiet=True),
        baseline=False,
    )
    scores = [c["judge"] for c in run["systems"]["openai/coach"]["cases"]]
    assert scores == [0.5, 0.5, 0.5]
    assert len([r for r in fake_llm.requests if r.model == "always-a"]) == 3 * 2 * 2
    judge_prompt = next(r for r in fake_llm.requests if r.model == "always-a").messages[0][
        "content"
    ]
    assert "Length is not quality" in judge_prompt


def test_the_gold_set_is_valid_and_large_enough() -> None:
    cases = load_gold(GOLD_DIR)
    by_language: dict[str, int] = {}
    for case in cases:
        by_language[case.language] = by_language.get(case.language, 0) + 1
    twitter = [c for c in cases if c.source.startswith("twitter-customer-care/")]
    assert len(twitter) >= 60
    assert len(cases) >= 250
    assert all(
        by_language.get(lang, 0) >= 40
        for lang in ("en", "tr", "ro", "fi", "ms", "es", "de", "fr", "pt")
    ), by_language
    hard = {"injection", "prompt-injection", "abusive", "pii", "quoted", "hedge", "mixed-language"}
    assert sum(1 for c in cases if hard & set(c.tags)) >= 20
    assert len(cases) == len({c.id for c in cases})


def test_a_broken_gold_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(CASES[0]) + "\n" + json.dumps({"id": "en-x"}) + "\n")
    with pytest.raises(GoldError, match=r"bad\.jsonl:2: .*required"):
        load_gold(path)


def test_coach_eval_cli_offline(tmp_path: Path, gold: Path) -> None:
    out = tmp_path / "cli"
    # piped output: rich's default width, 80 columns
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    run = subprocess.run(
        [sys.executable, "-m", "coach.cli", "eval", "--gold", str(gold), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    assert "rules" in run.stdout and (out / "results.json").is_file()
    assert_fits_80(run.stdout)
    assert all(metric.label in run.stdout for metric in SUMMARY_METRICS)
    table = subprocess.run(
        [sys.executable, "-m", "coach.cli", "eval", "compare", str(out), str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert table.returncode == 0, table.stderr
    assert_fits_80(table.stdout)
    assert "chrF++" in table.stdout and "too few" in table.stdout
    compared = subprocess.run(
        [sys.executable, "-m", "coach.cli", "eval", "compare", str(out), str(out), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert compared.returncode == 0, compared.stderr
    assert json.loads(compared.stdout)["fixed"] == []


def test_stay_calm_is_the_absence_of_hostility() -> None:
    from coach.schemas import CoachRequest
    from evals.gold import GoldCase
    from evals.runner import judge_case

    case = GoldCase.model_validate(
        {
            "id": "en-calm",
            "language": "en",
            "source": "handwritten",
            "input": {"customer_message": "Where is my parcel?"},
            "assert": {"techniques": ["stay_calm"]},
            "reference_reply": "I'm checking it now.",
        }
    )
    from coach.pipeline import Coach
    from coach.settings import CoachSettings

    result = Coach(CoachSettings(model="rules")).coach_sync(
        CoachRequest(customer_message="Where is my parcel?")
    )
    assert judge_case(case, "rules", result, 1.0).passed
    shouting = result.model_copy(
        update={"suggestion": "WE ARE CHECKING YOUR PARCEL RIGHT NOW, OK?"}
    )
    judged = judge_case(case, "rules", shouting, 1.0)
    failed = [c.name for c in judged.checks if not c.passed]
    assert failed == ["reply passes the rules", "technique stay_calm"]


# --- the summary and compare tables at 80 columns (rich's width when output is piped) ---

LONG_MODEL = "anthropic/claude-3-5-sonnet-20241022"


def _results(system: str, passed: list[bool], chrf: list[float], ms: float) -> list[CaseResult]:
    languages = ["en", "fi", "tr", "de"]
    return [
        CaseResult(
            id=f"{languages[i % 4]}-{i:03d}",
            language=languages[i % 4],
            tags=[],
            system=system,
            passed=ok,
            checks=[Check(name="reply passes the rules", passed=ok)],
            draft_categories=["dismissive"] if i % 3 else [],
            draft_flags=["dismissive"],
            reply="I'm sorry, I'm checking it now.",
            reference_reply="I'm sorry about this. I'm checking it now.",
            guard_passed=ok or i % 2 == 0,
            techniques_required=["apologize", "next_step"],
            techniques_found=["apologize"] + (["next_step"] if ok else []),
            language_ok=True,
            new_facts=["a date"] if i == 5 else [],
            chrf=c,
            judge=0.5 if system != "rules" else None,
            elapsed_ms=ms * (1 + i / 10),
        )
        for i, (ok, c) in enumerate(zip(passed, chrf, strict=True))
    ]


def realistic_run(*systems: str) -> dict[str, Any]:
    """A run dict as run_eval writes it (metrics from summarize), for 2 or 3 systems."""
    shapes = {
        "openai/gpt-4o-mini": ([True, True, False, True, True, False, True, True], 1234.56),
        LONG_MODEL: ([True, False, False, True, True, True, True, False], 2345.6),
        "rules": ([False, True, False, False, True, False, False, True], 0.83),
    }
    run_systems = {}
    for k, name in enumerate(systems):
        passed, ms = shapes[name]
        chrf = [round(20.0 + 7.3 * i + 3.1 * k, 2) for i in range(len(passed))]
        results = _results(name, passed, chrf, ms)
        run_systems[name] = {
            "metrics": summarize(results),
            "cases": [r.model_dump(mode="json") for r in results],
        }
    return {
        "run": {
            "label": f"{systems[0]}@coach-v1-20250101T120000",
            "started": "2025-01-01T12:00:00+00:00",
            "gold": "evals/gold",
            "cases": 8,
            "model": systems[0],
            "prompt_version": "coach-v1",
        },
        "primary": systems[0],
        "systems": run_systems,
    }


def render_80(table: Any) -> str:
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(table)
    return console.export_text()


def assert_fits_80(text: str) -> None:
    assert "…" not in text, text
    assert max(len(line) for line in text.splitlines()) <= 80, text


@pytest.mark.parametrize(
    "systems",
    [
        ("openai/gpt-4o-mini", "rules"),
        ("openai/gpt-4o-mini", LONG_MODEL, "rules"),
        (LONG_MODEL, "openai/gpt-4o-mini", "rules"),
    ],
)
def test_the_summary_fits_80_columns_with_every_label_and_value(
    systems: tuple[str, ...],
) -> None:
    run = realistic_run(*systems)
    text = render_80(summary_table(run))
    assert_fits_80(text)
    lines = text.splitlines()
    for i, metric in enumerate(SUMMARY_METRICS):
        row = next(line for line in lines if line.startswith(f"│ {metric.label} "))
        # every system's value, in the systems' order, on the metric's row
        values = [summary_cells(run["systems"][name]["metrics"])[i] for name in systems]
        assert re.search(r"\s+│\s+".join(map(re.escape, values)), row), (metric.label, row)
    latency = next(line for line in lines if line.startswith("│ latency p50 ms "))
    assert re.search(r"│ +\d,\d{3} │", latency) and "e+" not in latency  # ms, not 1.23e+03
    # the full names stay identifiable: broken only after "/" or "-", never mid-word
    header = text.split("┡")[0]
    for name in systems:
        for piece in re.findall(r"[^/-]+[/-]?", name):
            assert piece in header, (piece, header)
    assert "(baseline)" in header
    assert "chrF++" in text and "surface overlap" in text  # what the figure is, in the caption


def test_the_html_report_shares_the_summary_cells() -> None:
    run = realistic_run("openai/gpt-4o-mini", LONG_MODEL, "rules")
    html = render(run)
    for metric in SUMMARY_METRICS:
        assert f"<th>{metric.label}</th>" in html
        assert f"<dt>{metric.label}</dt>" in html  # the legend says what each figure is
    assert "not a judgement of quality" in html
    for name, system in run["systems"].items():
        cells = "".join(f"<td>{c}</td>" for c in [name, *summary_cells(system["metrics"])])
        assert cells in html


def test_compare_table_fits_80_columns_and_shows_n_a_for_an_older_run() -> None:
    new = realistic_run(LONG_MODEL, "rules")
    old = realistic_run("openai/gpt-4o-mini", "rules")
    metrics = old["systems"][old["primary"]]["metrics"]
    metrics["similarity"] = metrics.pop("chrf") / 100  # a run from before chrF++
    old["run"]["label"] = "openai/gpt-4o-mini@coach-v1-20240601T080000"
    for a, b in ((old, new), (new, old)):
        text = render_80(compare_table(compare(a, b)))
        assert_fits_80(text)
        rows = {line.split("│")[1].strip(): line for line in text.splitlines() if "│" in line}
        assert "n/a" in rows["chrF++"] and "pass rate" in rows and "latency p50 ms" in rows
        assert "worse" in rows["pass rate"] if a is old else "better" in rows["pass rate"]
        assert f"A: {a['run']['label']}" in text and f"B: {b['run']['label']}" in text
