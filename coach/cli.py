"""The ``coach`` command line.

argparse (not a heavier CLI framework) keeps ``coach check`` quick to start;
nothing here imports litellm or guardrails-ai.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from coach.schemas import CheckResult

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
    out.extend(f"note: {n}" for n in result.notes)
    out.append(summary)
    return "\n".join(out)


def _cmd_check(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from coach.checker import check
    from rules import PackError

    text = _read_text(args.text, parser)
    try:
        result = check(text, args.lang)
    except PackError as exc:
        print(f"coach: broken rule pack: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:
        parser.error(str(exc))
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        print(format_result(text, result))
    return EXIT_PASSED if result.passed else EXIT_BLOCKED


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
        help="ISO 639-1 language (en, tr, ro, fi, ms); detected from the text when absent",
    )
    check.add_argument("--json", action="store_true", help="print one CheckResult as JSON")
    check.set_defaults(handler=_cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.handler(args, parser)
    return code


if __name__ == "__main__":
    sys.exit(main())
