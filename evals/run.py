"""``coach eval``: run the gold set, write results.json and report.html, print a summary."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from coach.gateway import Gateway, close_clients
from coach.pipeline import RULES_MODEL, Coach
from coach.settings import CoachSettings, get_settings
from evals.cache import CachingGateway
from evals.gold import GOLD_DIR, load_gold
from evals.judge import LLMJudge
from evals.metrics import summarize
from evals.report import SUMMARY_HEADERS, render, summary_cells
from evals.runner import CaseResult, run_cases

DEFAULT_CACHE = Path(".eval-cache")


def _gateway(settings: CoachSettings, cache_dir: Path | None) -> Gateway:
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
        gateway = _gateway(settings, cache_dir)
        systems.append((primary_model, Coach(settings, gateway=gateway)))
    if primary_model == RULES_MODEL or baseline:
        systems.append(
            (
                RULES_MODEL,
                Coach(settings.model_copy(update={"model": RULES_MODEL, "fallback_models": []})),
            )
        )
    judge = None
    if judge_model:
        judge_gateway = _gateway(settings.model_copy(update={"model": judge_model}), cache_dir)
        judge = LLMJudge(judge_gateway, judge_model, judge_samples)

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
    template = systems[0][1].template
    run: dict[str, Any] = {
        "run": {
            "label": f"{primary}@{template.id if template else 'rules'}-{started:%Y%m%dT%H%M%S}",
            "started": started.isoformat(timespec="seconds"),
            "gold": str(gold),
            "cases": len(cases),
            "model": primary,
            "prompt_version": template.id if template else None,
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


def summary_table(run: dict[str, Any]) -> Table:
    table = Table(title=f"eval {run['run']['label']} ({run['run']['cases']} cases)")
    for header in SUMMARY_HEADERS:
        table.add_column(header, justify="left" if header == "system" else "right")
    for name, system in run["systems"].items():
        label = name + (" (baseline)" if name == RULES_MODEL and name != run["primary"] else "")
        table.add_row(*summary_cells(label, system["metrics"]))
    return table


def compare_table(result: dict[str, Any]) -> Table:
    table = Table(title=f"{result['a']['label']}  ->  {result['b']['label']}")
    for header in ("metric", "A", "B", "delta", ""):
        table.add_column(header)
    for row in result["metrics"]:
        table.add_row(
            row["metric"], str(row["a"]), str(row["b"]), str(row["delta"]), row["verdict"]
        )
    return table
