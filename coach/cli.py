"""The ``coach`` command line.

argparse (not a heavier CLI framework) keeps ``coach check`` quick to start;
nothing here imports litellm or guardrails-ai (the gateway imports litellm
only when a real model is called).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from coach.schemas import CheckResult, CoachResult

if TYPE_CHECKING:
    from rich.console import Console

    from coach.review import Reviewer

EXIT_PASSED = 0
EXIT_BLOCKED = 1
EXIT_USAGE = 2


def _read_text(arg: str | None, parser: argparse.ArgumentParser) -> str:
    if arg == "-":
        return sys.stdin.read()
    if arg is None:
        piped = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
        if not piped.strip():
            parser.error("give the TEXT to check, or - to read it from standard input")
        return piped
    return arg


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def format_result(text: str, result: CheckResult) -> str:
    """A human-readable report, one block per violation."""
    out: list[str] = []
    for v in result.violations:
        line, col = _line_col(text, v.start)
        out.append(f"{line}:{col}\t{v.severity.value}\t{v.rule}\t{v.text!r}")
        out.append(f"\t{v.message}")
        if v.suggestion:
            out.append(f"\ttry: {v.suggestion}")
    blocks = sum(1 for v in result.violations if v.severity.value == "block")
    warns = len(result.violations) - blocks
    verdict = "passed" if result.passed else "blocked"
    summary = f"{verdict}: {blocks} blocking, {warns} warning(s); language {result.language} ({result.language_source})"
    if len(result.checked_languages) > 1:
        summary += f"; checked with {', '.join(result.checked_languages)}"
    out.extend(f"note: {n}" for n in result.notes)
    out.append(summary)
    return "\n".join(out)


def _cmd_check(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from coach.checker import check
    from coach.schemas import Context
    from rules import PackError

    text = _read_text(args.text, parser)
    try:
        allowed = [] if args.no_commitments else args.allow
        context = Context(allowed_commitments=allowed) if allowed is not None else None
        result = check(
            text,
            args.lang,
            context,
            hint_language=args.hint_language,
            customer_message=args.customer,
        )
    except PackError as exc:
        print(f"coach: broken rule pack: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:
        parser.error(str(exc))
    if args.review:
        result = _reviewed(text, result)
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        print(format_result(text, result))
    return EXIT_PASSED if result.passed else EXIT_BLOCKED


def _reviewed(text: str, result: CheckResult) -> CheckResult:
    """``result`` with COACH_MODEL's review added (or a note saying why there is none)."""
    import asyncio

    from coach.gateway import close_clients
    from coach.pipeline import Coach
    from coach.settings import get_settings

    settings = get_settings()
    coach = Coach(settings)

    async def run() -> CheckResult:
        try:
            return await coach.reviewer.add_to(text, result, settings.timeout_s)
        finally:
            if coach.models:
                await close_clients()

    return asyncio.run(run())


EXIT_NO_MODEL = 3


def _read_context(path: str | None, parser: argparse.ArgumentParser) -> dict[str, object]:
    if path is None:
        return {}
    import json

    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, json.JSONDecodeError) as exc:
        parser.error(f"--context {path}: {exc}")
    if not isinstance(data, dict):
        parser.error(f"--context {path}: expected a JSON object")
    return data


def format_coach(result: CoachResult) -> str:
    """The suggestion first (what the agent sends), then why."""
    state = result.customer_state
    lines = [result.suggestion, ""]
    triggers = ", ".join(t.value for t in state.triggers) or "none"
    lines.append(
        f"customer: {state.emotion}, escalation risk {state.escalation_risk:.2f}, triggers: {triggers}"
        + (", abusive" if state.abusive else "")
    )
    if result.draft_check is not None:
        verdict = "passed" if result.draft_check.passed else "blocked"
        lines.append(f"draft: {verdict} ({len(result.draft_check.violations)} finding(s))")
    lines.append("techniques: " + ", ".join(t.value for t in result.techniques))
    lines.extend(f"- {note}" for note in result.coaching)
    flag = " (degraded)" if result.degraded else ""
    lines.append(
        f"model: {result.model}{flag}; language {result.language}; {result.elapsed_ms:.0f} ms"
    )
    return "\n".join(lines)


def _cmd_suggest(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from pydantic import ValidationError

    from coach.pipeline import Coach, NoModelAnswered
    from coach.prompting import PromptError
    from coach.schemas import CoachRequest
    from coach.settings import CoachSettings
    from rules import PackError

    customer = sys.stdin.read() if args.customer == "-" else args.customer
    fields: dict[str, object] = {
        "customer_message": customer,
        "draft": args.draft,
        "language": args.lang,
        "channel": args.channel,
    }
    context = _read_context(args.context, parser)
    if context:
        fields["context"] = context
    try:
        request = CoachRequest.model_validate(fields)
        overrides = {"model": args.model} if args.model else {}
        coach = Coach(CoachSettings.model_validate(overrides))
        result = coach.coach_sync(request)
    except ValidationError as exc:
        parser.error("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    except (PackError, PromptError) as exc:
        print(f"coach: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except NoModelAnswered as exc:
        print(f"coach: {exc}", file=sys.stderr)
        return EXIT_NO_MODEL
    except ValueError as exc:
        parser.error(str(exc))
    print(result.model_dump_json(indent=2) if args.json else format_coach(result))
    return EXIT_PASSED


def _metrics_folder(workers: int) -> None:
    """Several workers count into one folder of metric files (prometheus_client's
    multiprocess mode), so that ``/metrics`` on any of them reports all: a fresh folder
    when ``PROMETHEUS_MULTIPROC_DIR`` is unset, else the given one emptied of an earlier
    run's files (they would be added in)."""
    import os
    import tempfile
    from pathlib import Path

    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.db"):
            old.unlink()
    elif workers > 1:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="coach-metrics-")


def _cmd_serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import uvicorn

    from api.logs import log_config

    _metrics_folder(args.workers)
    # loop and http stay "auto": uvloop and httptools (uvicorn[standard], pinned) when
    # installed, which they are except on Windows (no uvloop there).
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=log_config(args.log_level),
        access_log=False,
        timeout_graceful_shutdown=args.graceful_timeout,
        proxy_headers=True,
    )
    return EXIT_PASSED


def _cmd_export(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import json

    from coach.settings import get_settings
    from coach.store import Store

    store = Store(args.database_url or get_settings().database_url)
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
    count = 0
    try:
        for candidate in store.export_gold_candidates():
            if args.action and candidate["source"]["action"] not in args.action:
                continue
            out.write(json.dumps(candidate, ensure_ascii=False) + "\n")
            count += 1
    finally:
        if out is not sys.stdout:
            out.close()
        store.close()
    print(f"exported {count} gold-set candidate(s)", file=sys.stderr)
    return EXIT_PASSED


def _cmd_prompts(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from pathlib import Path

    from coach import prompt_tools
    from coach.prompting import PromptError, available_versions
    from coach.settings import CoachSettings

    extra = Path(args.prompts_dir) if args.prompts_dir else CoachSettings().prompts_dir
    if args.prompts_command == "check":
        versions = args.version or available_versions(extra)
        reports = [prompt_tools.check_version(v, extra) for v in versions]
        print("\n\n".join(prompt_tools.format_check(r) for r in reports))
        return 0 if all(r.ok for r in reports) else 1
    if args.language not in prompt_tools.languages_to_check():
        known = ", ".join(prompt_tools.languages_to_check())
        print(f"error: no rule pack for language {args.language!r} ({known})", file=sys.stderr)
        return EXIT_USAGE
    try:
        lines = prompt_tools.diff_versions(
            args.old, args.new, language=args.language, channel=args.channel, extra_dir=extra
        )
    except PromptError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print("\n".join(lines) if lines else f"{args.old} and {args.new} render the same messages")
    return 1 if lines and args.exit_code else 0


def _cmd_eval(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import json
    from pathlib import Path

    from rich.console import Console

    from evals.gold import GOLD_DIR, GoldError

    console = Console()
    if args.action and args.action[0] == "compare":
        if len(args.action) != 3:
            parser.error("usage: coach eval compare RUN_A RUN_B")
        from evals.compare import compare, load_run
        from evals.run import compare_table

        try:
            result = compare(load_run(args.action[1]), load_run(args.action[2]))
        except (OSError, KeyError, ValueError) as exc:
            print(f"coach: cannot compare: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if args.json:
            print(json.dumps(result, ensure_ascii=False, indent=2))
            return EXIT_PASSED
        console.print(compare_table(result))
        for change in result["changes"]:
            console.print(f"  {change['change']:<6} {change['id']}: {', '.join(change['checks'])}")
        console.print(result["significance"])
        return EXIT_PASSED
    if args.action:
        parser.error(f"unknown eval action {args.action[0]!r} (did you mean compare?)")
    if args.corpus is not None or args.misses:
        return _eval_corpus(args, parser, console)
    from evals.run import run_eval, summary_table

    try:
        run = run_eval(
            gold=Path(args.gold) if args.gold else GOLD_DIR,
            model=args.model,
            out=Path(args.out),
            prompt_version=args.prompt_version,
            concurrency=args.concurrency,
            limit=args.limit,
            languages=args.language,
            cache_dir=None if args.no_cache else Path(args.cache),
            judge_model=args.judge,
            judge_samples=args.judge_samples,
            baseline=not args.no_baseline,
        )
    except GoldError as exc:
        print(f"coach: gold set: {exc}", file=sys.stderr)
        return EXIT_USAGE
    console.print(summary_table(run))
    console.print(f"wrote {args.out}/results.json and {args.out}/report.html")
    return EXIT_PASSED


def _eval_corpus(
    args: argparse.Namespace, parser: argparse.ArgumentParser, console: Console
) -> int:
    """``coach eval --corpus``: the rules' recall on the blind corpus (dev and test), or
    ``--misses SPLIT``: what they get wrong in train or dev, for a rule writer."""
    import json
    from pathlib import Path

    from evals.corpus import (
        CORPUS_DIR,
        WITH_REVIEW,
        CorpusError,
        Split,
        detector,
        load_corpus,
        measure,
        misses,
        review_detector,
    )
    from evals.corpus_report import corpus_tables, detector_table, render_corpus

    path = Path(args.corpus) if args.corpus else CORPUS_DIR
    try:
        lines = load_corpus(path)
        if args.language:
            lines = [x for x in lines if x.language in args.language]
        if args.misses:
            for line, why in misses(lines, args.misses):
                console.print(f"{line.id}\t{why}\t{line.text}", markup=False, highlight=False)
            return EXIT_PASSED
    except CorpusError as exc:
        print(f"coach: corpus: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:
        parser.error(str(exc))
    names = list(dict.fromkeys(args.detector or ["rules", "rules+model"]))
    splits: tuple[Split, ...] = tuple(args.split or ("dev", "test"))
    by_detector = {
        name: measure(lines, detector(name), splits=splits) for name in names if name != WITH_REVIEW
    }
    if WITH_REVIEW in names:
        reviewer = _corpus_reviewer(args, parser)
        run = review_detector(lines, splits, reviewer, concurrency=args.concurrency)
        by_detector[WITH_REVIEW] = measure(lines, run, splits=splits)
        by_detector = {name: by_detector[name] for name in names}
    result = {
        "corpus": str(path),
        "lines": len(lines),
        "detector": f"{names[0]} (language given)",
        "splits": by_detector[names[0]],
        "detectors": by_detector,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "corpus.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    (out / "corpus.html").write_text(render_corpus(result), encoding="utf-8")
    console.print(corpus_tables(result))
    if len(names) > 1:
        console.print(detector_table(result))
    console.print(f"wrote {out}/corpus.json and {out}/corpus.html")
    return EXIT_PASSED


def _corpus_reviewer(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Reviewer:
    """The LLM reviewer of ``--detector rules+model+llm``: ``--model`` or COACH_MODEL, its
    answers cached on disk like the gold eval's (``--cache``, ``--no-cache``)."""
    from pathlib import Path

    from coach.prompting import load_prompt_set
    from coach.review import Reviewer
    from coach.settings import CoachSettings
    from evals.run import gateway_for

    settings = CoachSettings()
    model = args.model or settings.model
    if not model or model == "rules":
        parser.error("--detector rules+model+llm needs a model (--model or COACH_MODEL)")
    cache = None if args.no_cache else Path(args.cache)
    prompts = load_prompt_set(args.prompt_version or settings.prompt_version, settings.prompts_dir)
    return Reviewer(gateway_for(settings, cache), [model], prompts)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coach",
        description="The reply coach: checks and improves agents' replies to upset customers.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    check = sub.add_parser(
        "check",
        help="check a reply against the rules (exit 0 passed, 1 blocked, 2 bad usage)",
        description=(
            "Check a reply against the rules of its language. Exit status: 0 when it passes, "
            "1 when a blocking violation is found, 2 on bad usage or a broken rule pack."
        ),
    )
    check.add_argument(
        "text", nargs="?", metavar="TEXT", help="the text to check; - reads standard input"
    )
    check.add_argument(
        "--lang",
        metavar="LL",
        help="ISO 639-1 language with a rule pack (en, tr, ro, fi, ms, es, de, fr, pt); detected when absent",
    )
    commitments = check.add_mutually_exclusive_group()
    commitments.add_argument(
        "--allow",
        action="append",
        metavar="COMMITMENT",
        help=(
            "a commitment the agent may make (refund, replacement, callback_24h, compensation); "
            "repeatable. Any other commitment blocks. Without --allow, --no-commitments or "
            "COACH_ALLOWED_COMMITMENTS, what the agent may promise is unknown, and a "
            "commitment is a warning"
        ),
    )
    commitments.add_argument(
        "--no-commitments",
        action="store_true",
        help="the agent may make no commitment: every one (refund, replacement...) blocks",
    )
    check.add_argument(
        "--customer",
        metavar="TEXT",
        help=(
            "the customer's message, a language hint: a short reply (1-3 words) is checked in "
            "the conversation's language first"
        ),
    )
    check.add_argument(
        "--hint-language",
        metavar="LL",
        help="the conversation's language, a hint for short replies (--lang forces one instead)",
    )
    check.add_argument(
        "--review",
        action="store_true",
        help=(
            "also ask COACH_MODEL to review the text (findings with source llm, warn); without "
            "a model, or when it fails, the result says so in notes"
        ),
    )
    check.add_argument("--json", action="store_true", help="print one CheckResult as JSON")
    check.set_defaults(handler=_cmd_check)

    suggest = sub.add_parser(
        "suggest",
        help="suggest a better reply to a customer (one coaching round trip)",
        description=(
            "Suggest a reply to the customer's message, improving the agent's draft when one is "
            "given. Uses COACH_MODEL through litellm (with COACH_FALLBACK_MODELS); unset or "
            "'rules' is the offline rules coach. The suggestion always passes the rules. Exit "
            "status: 0 with a suggestion, 2 on bad usage, 3 when no model answered and "
            "COACH_ALLOW_RULES_FALLBACK is false."
        ),
    )
    suggest.add_argument(
        "--customer", required=True, metavar="TEXT", help="the customer's message; - reads stdin"
    )
    suggest.add_argument("--draft", metavar="TEXT", help="the agent's draft (optional)")
    suggest.add_argument(
        "--lang", metavar="LL", help="ISO 639-1 language; detected from the customer's message"
    )
    suggest.add_argument("--channel", choices=["chat", "email", "phone", "social"], default="chat")
    suggest.add_argument(
        "--context",
        metavar="FILE",
        help="JSON file with the context: customer_name, agent_name, company, facts, allowed_commitments",
    )
    suggest.add_argument(
        "--model", metavar="M", help="litellm model string (overrides COACH_MODEL)"
    )
    suggest.add_argument("--json", action="store_true", help="print one CoachResult as JSON")
    suggest.set_defaults(handler=_cmd_suggest)

    serve = sub.add_parser(
        "serve",
        help="run the HTTP API (uvicorn)",
        description=(
            "Run the HTTP API with uvicorn. Settings come from COACH_* variables. On SIGTERM or "
            "Ctrl-C it stops accepting connections and finishes in-flight requests (up to "
            "--graceful-timeout seconds); feedback is committed before its 201 is sent."
        ),
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help=(
            "worker processes (default 1); with more, /metrics on any worker adds up all "
            "of them (prometheus_client's multiprocess mode, PROMETHEUS_MULTIPROC_DIR)"
        ),
    )
    serve.add_argument(
        "--graceful-timeout",
        type=int,
        default=30,
        metavar="S",
        help="seconds to finish in-flight requests",
    )
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(handler=_cmd_serve)

    evaluate = sub.add_parser(
        "eval",
        help="run the gold set (or: eval compare RUN_A RUN_B)",
        description=(
            "Run the gold set through the coach (COACH_MODEL or --model; the offline rules coach "
            "is always run too as the baseline row), print a summary table, and write "
            "results.json and report.html to --out. Model answers are cached on disk, so a "
            "re-run is reproducible and free. 'coach eval compare RUN_A RUN_B' compares two runs "
            "(folders or results.json files) per metric and case by case."
        ),
    )
    evaluate.add_argument(
        "action", nargs="*", metavar="compare RUN_A RUN_B", help="compare two runs"
    )
    evaluate.add_argument(
        "--gold", metavar="PATH", help="a .jsonl file or a folder of them (default: evals/gold)"
    )
    evaluate.add_argument("--model", metavar="M", help="litellm model (default: COACH_MODEL)")
    evaluate.add_argument(
        "--out", metavar="DIR", default="eval-runs/latest", help="where results go"
    )
    evaluate.add_argument(
        "--prompt-version",
        metavar="ID",
        help="prompt version, a folder prompts/<ID>/ (default: COACH_PROMPT_VERSION)",
    )
    evaluate.add_argument("--concurrency", type=int, default=8, help="cases in flight (default 8)")
    evaluate.add_argument("--limit", type=int, help="only the first N cases")
    evaluate.add_argument(
        "--language", action="append", metavar="LL", help="only these languages (repeatable)"
    )
    evaluate.add_argument(
        "--cache", metavar="DIR", default=".eval-cache", help="model answer cache"
    )
    evaluate.add_argument("--no-cache", action="store_true", help="always ask the model")
    evaluate.add_argument(
        "--no-baseline", action="store_true", help="skip the rules-coach baseline row"
    )
    evaluate.add_argument("--judge", metavar="M", help="litellm model for LLM-as-judge (optional)")
    evaluate.add_argument(
        "--judge-samples", type=int, default=1, metavar="N", help="judge samples per order"
    )
    evaluate.add_argument(
        "--json", action="store_true", help="compare: print the comparison as JSON"
    )
    evaluate.add_argument(
        "--corpus",
        nargs="?",
        const="",
        metavar="PATH",
        help=(
            "measure the rules on the blind corpus instead (default evals/corpus): recall per "
            "language x category, blocks and findings on clean lines, per split; writes "
            "corpus.json and corpus.html to --out"
        ),
    )
    evaluate.add_argument(
        "--split",
        action="append",
        choices=["train", "dev", "test"],
        help="with --corpus: the splits to measure (repeatable; default dev and test)",
    )
    evaluate.add_argument(
        "--detector",
        action="append",
        choices=["rules", "model", "rules+model", "rules+model+semantic", "rules+model+llm"],
        help=(
            "with --corpus: what to measure (repeatable; default rules and rules+model); the "
            "full tables are the first one's, a summary row compares them all; "
            "rules+model+llm adds the LLM review of every line (--model or COACH_MODEL, "
            "--concurrency at a time, answers cached in --cache)"
        ),
    )
    evaluate.add_argument(
        "--misses",
        choices=["train", "dev"],
        help="list the corpus lines the rules get wrong in this split (never test)",
    )
    evaluate.set_defaults(handler=_cmd_eval)

    prompts = sub.add_parser(
        "prompts",
        help="check a prompt version, or diff two (what the model sees)",
        description=(
            "A prompt version is a folder prompts/<version>/ (or in COACH_PROMPTS_DIR): "
            "coach.yaml, review.yaml, judge.yaml, vocabulary.yaml and techniques.yaml. "
            "'check' renders every template for every language and channel with sample "
            "requests and fails on a problem; 'diff' shows what the model sees differently."
        ),
    )
    prompts_sub = prompts.add_subparsers(dest="prompts_command", metavar="ACTION")
    prompts_sub.required = True
    prompts_check = prompts_sub.add_parser(
        "check",
        help="render every template per language and channel; exit 1 on a problem",
        description=(
            "Load each version (default: all found) and render every template for every "
            "language the rule packs check and every channel, with a full and a bare sample "
            "request (strict variables). Prints the rendered size in tokens (tiktoken's "
            "o200k_base from litellm's bundled copy) and exits 1 on a missing variable, an "
            "unknown or missing category, channel or technique, or a language without a name."
        ),
    )
    prompts_check.add_argument(
        "--version", action="append", metavar="V", help="only this version (repeatable)"
    )
    prompts_diff = prompts_sub.add_parser(
        "diff",
        help="the rendered difference between two versions for one sample request",
        description=(
            "Render versions OLD and NEW for the same sample request (the language's first "
            "gold case, with history, facts and names) and print the unified diff of every "
            "message: the coaching system and user messages, the re-asks, the review and the "
            "judge."
        ),
    )
    prompts_diff.add_argument("old", metavar="OLD", help="version id, e.g. coach-v1")
    prompts_diff.add_argument("new", metavar="NEW", help="version id, e.g. coach-v2")
    prompts_diff.add_argument("--language", default="en", metavar="LL", help="default en")
    prompts_diff.add_argument(
        "--channel", default="chat", choices=["chat", "email", "phone", "social"]
    )
    prompts_diff.add_argument(
        "--exit-code", action="store_true", help="exit 1 when the versions differ"
    )
    for command in (prompts_check, prompts_diff):
        command.add_argument(
            "--prompts-dir",
            metavar="DIR",
            help="a folder of versions searched first (default: COACH_PROMPTS_DIR)",
        )
    prompts.set_defaults(handler=_cmd_prompts)

    feedback = sub.add_parser("feedback", help="work with the stored feedback")
    feedback_sub = feedback.add_subparsers(dest="feedback_command", metavar="ACTION")
    feedback_sub.required = True
    export = feedback_sub.add_parser(
        "export",
        help="write stored feedback as eval gold-set candidates (JSON Lines)",
        description=(
            "Write every stored feedback joined with its suggestion as one JSON object per line: "
            "the request (customer message, draft, history, context), the reference reply (the "
            "edited text, or the accepted suggestion), the rejected suggestion, and the model and "
            "prompt version that produced it."
        ),
    )
    export.add_argument("--out", metavar="FILE", help="output file (default: standard output)")
    export.add_argument(
        "--action",
        action="append",
        choices=["accepted", "edited", "rejected"],
        help="only these (repeatable)",
    )
    export.add_argument("--database-url", metavar="URL", help="default: COACH_DATABASE_URL")
    export.set_defaults(handler=_cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.handler(args, parser)
    return code


if __name__ == "__main__":
    sys.exit(main())
