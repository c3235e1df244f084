"""``coach eval``: run the gold set, write results.json and report.html, print a summary."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from coach.gateway import Gateway, close_clients
from coach.pipeline import RULES_MODEL, Coach
from coach.prompting import load_prompt_set
from coach.settings import CoachSettings, get_settings
from evals.cache import CachingGateway
from evals.gold import GOLD_DIR, load_gold
from evals.judge import LLMJudge
from evals.metrics import summarize
from evals.report import METRIC_BY_KEY, SUMMARY_METRICS, SUMMARY_NOTE, render, summary_cells
from evals.runner import CaseResult, run_cases

DEFAULT_CACHE = Path(".eval-cache")


def gateway_for(settings: CoachSettings, cache_dir: Path | None) -> Gateway:
    """The gateway of an eval run: answers cached in ``cache_dir`` unless it is None."""
    options: dict[str, Any] = {
        "api_base": settings.api_base,
        "api_key": settings.api_key,
        "max_retries": settings.max_retries,
    }
    if cache_dir is None:
        return Gateway(**options)
    return CachingGateway(cache_dir, **options)


def _advance(progress: Progress, task: TaskID) -> Callable[[CaseResult], None]:
    def done(_result: CaseResult) -> None:
        progress.advance(task)

    return done


def run_eval(
    *,
    gold: Path = GOLD_DIR,
    model: str | None = None,
    out: Path = Path("eval-runs/latest"),
    prompt_version: str | None = None,
    concurrency: int = 8,
    limit: int | None = None,
    languages: list[str] | None = None,
    cache_dir: Path | None = DEFAULT_CACHE,
    judge_model: str | None = None,
    judge_samples: int = 1,
    base: CoachSettings | None = None,
    console: Console | None = None,
    baseline: bool = True,
) -> dict[str, Any]:
    console = console or Console(stderr=True)
    base = base or get_settings()
    cases = load_gold(gold)
    if languages:
        cases = [c for c in cases if c.language in languages]
    if limit:
        cases = cases[:limit]
    primary_model = model or base.model
    overrides: dict[str, Any] = {"model": primary_model}
    if prompt_version:
        overrides["prompt_version"] = prompt_version
    settings = base.model_copy(update=overrides)
    systems: list[tuple[str, Coach]] = []
    gateway = None
    if primary_model != RULES_MODEL:
        gateway = gateway_for(settings, cache_dir)
        # An eval measures the suggestion; reviewing each draft would only add a call per case.
        reviewless = settings.model_copy(update={"review_drafts": False})
        systems.append((primary_model, Coach(reviewless, gateway=gateway)))
    if primary_model == RULES_MODEL or baseline:
        systems.append(
            (
                RULES_MODEL,
                Coach(settings.model_copy(update={"model": RULES_MODEL, "fallback_models": []})),
            )
        )
    judge = None
    if judge_model:
        judge_gateway = gateway_for(settings.model_copy(update={"model": judge_model}), cache_dir)
        prompts = load_prompt_set(settings.prompt_version, settings.prompts_dir)
        judge = LLMJudge(judge_gateway, judge_model, prompts, judge_samples)

    started = datetime.now(UTC)
    results: dict[str, list[CaseResult]] = {}

    async def main() -> None:
        try:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            ) as progress:
                for name, coach in systems:
                    task = progress.add_task(f"{name:<24}", total=len(cases))
                    results[name] = await run_cases(
                        cases,
                        coach,
                        name,
                        concurrency=concurrency,
                        on_done=_advance(progress, task),
                        judge=judge if name == primary_model else None,
                    )
        finally:
            await close_clients()

    asyncio.run(main())
    primary = systems[0][0]
    version = systems[0][1].prompt_version
    run: dict[str, Any] = {
        "run": {
            "label": f"{primary}@{version or 'rules'}-{started:%Y%m%dT%H%M%S}",
            "started": started.isoformat(timespec="seconds"),
            "gold": str(gold),
            "cases": len(cases),
            "model": primary,
            "prompt_version": version,
            "judge": judge_model,
            "cache": (
                {"dir": str(cache_dir), "hits": gateway.hits, "misses": gateway.misses}
                if isinstance(gateway, CachingGateway)
                else None
            ),
        },
        "primary": primary,
        "systems": {
            name: {"metrics": summarize(rs), "cases": [r.model_dump(mode="json") for r in rs]}
            for name, rs in results.items()
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(
        json.dumps(run, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    (out / "report.html").write_text(render(run), encoding="utf-8")
    return run


SUMMARY_WIDTH = 80  # what rich uses when output is piped: the summary fits it


def _break_name(name: str, width: int) -> str:
    """A system's name on lines of at most ``width`` characters where it can be: after the
    provider's "/" and, for a long model name, after a "-" (every character is kept)."""
    lines: list[str] = []
    for part in re.findall(r"[^/]+/?", name) or [name]:
        line = ""
        for piece in re.findall(r"[^-]+-?|-", part):
            if line and len(line) + len(piece) > width:
                lines.append(line)
                line = ""
            line += piece
        lines.append(line)
    # a short provider stays on one line with the model when both fit
    merged: list[str] = []
    for line in lines:
        if merged and merged[-1].endswith("/") and len(merged[-1]) + len(line) <= width:
            merged[-1] += line
        else:
            merged.append(line)
    return "\n".join(merged)


def summary_table(run: dict[str, Any]) -> Group:
    """Metrics as rows, systems as columns: a few systems with long names fit 80 columns.

    Nothing is cut with an ellipsis: names break after "/" and "-", and a column narrower
    than a word folds it (every character stays).
    """
    systems = run["systems"]
    label_width = max(len(m.label) for m in SUMMARY_METRICS)
    # borders and padding: 3 per column and 1; what is left is shared by the systems
    name_width = max(8, (SUMMARY_WIDTH - 1 - (label_width + 3)) // max(1, len(systems)) - 3)
    table = Table()
    table.add_column("metric", min_width=label_width, overflow="fold")
    for name in systems:
        header = _break_name(name, name_width)
        if name == RULES_MODEL and name != run["primary"]:
            header += "\n(baseline)"
        table.add_column(header, justify="right", overflow="fold")
    cells = [summary_cells(system["metrics"]) for system in systems.values()]
    for i, metric in enumerate(SUMMARY_METRICS):
        table.add_row(metric.label, *(column[i] for column in cells))
    # The heading and the note take the console's width (a table title would wrap at the
    # table's); a run label longer than a line folds, whole.
    return Group(
        Text(f"eval {run['run']['label']} ({run['run']['cases']} cases)", overflow="fold"),
        table,
        Text(SUMMARY_NOTE, overflow="fold"),
    )


def compare_table(result: dict[str, Any]) -> Group:
    """``coach eval compare``: one row per metric, A and B formatted as in the summary."""
    table = Table()
    table.add_column("metric", overflow="fold")
    for header in ("A", "B", "change"):
        table.add_column(header, justify="right", overflow="fold")
    table.add_column("", overflow="fold")
    for row in result["metrics"]:
        metric = METRIC_BY_KEY[row["metric"]]
        table.add_row(
            metric.label,
            metric.format(row["a"]),
            metric.format(row["b"]),
            metric.format_delta(row["delta"]),
            row["verdict"],
        )
    heading = Text(f"A: {result['a']['label']}\nB: {result['b']['label']}", overflow="fold")
    return Group(heading, table)
