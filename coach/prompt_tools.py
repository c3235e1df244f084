"""``coach prompts check`` and ``coach prompts diff``: what a prompt version makes a model see.

``check`` loads a version (which validates its five files together: see
``coach/prompting.py``) and renders every template for every language the rule packs
check and every channel, with sample requests from the gold set: a full one (draft,
history, facts, names, an abusive customer) and a bare one, so that every branch of a
template is rendered under ``StrictUndefined``. It reports the rendered size in tokens and
fails on a missing variable, an unknown or missing category, channel or technique, and a
language without a name.

``diff`` renders two versions for the same sample request and shows the unified
difference of each message, so that a reviewer sees what the model will see differently.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from coach.analysis import analyze
from coach.model_loop import coach_values, reason_values
from coach.prompting import CHANNELS, PromptError, PromptSet, load_prompt_set
from coach.review import review_messages
from coach.schemas import CoachRequest, Context, HistoryTurn
from evals.gold import GOLD_DIR, GoldCase, load_gold
from evals.judge import judge_messages

ENCODING = "o200k_base"  # the tokenizer of OpenAI's current models
_ENCODING_URL = f"https://openaipublic.blob.core.windows.net/encodings/{ENCODING}.tiktoken"
Counter = Callable[[str], int]


@contextmanager
def _tiktoken_cache(folder: Path) -> Iterator[None]:
    before = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = before


def token_counter() -> tuple[Counter, str]:
    """A token counter and its name: tiktoken's ``o200k_base`` read from the copy that ships
    inside litellm (never downloaded; litellm itself is not imported), or, when that copy
    is missing, an estimate of one token per four characters."""
    spec = find_spec("litellm")
    if spec is not None and spec.submodule_search_locations:
        folder = Path(next(iter(spec.submodule_search_locations))) / "litellm_core_utils/tokenizers"
        if (folder / hashlib.sha1(_ENCODING_URL.encode()).hexdigest()).is_file():
            import tiktoken

            with _tiktoken_cache(folder):
                encoding = tiktoken.get_encoding(ENCODING)
            return (lambda text: len(encoding.encode(text, disallowed_special=()))), ENCODING
    return (lambda text: (len(text) + 3) // 4), "estimate (characters / 4)"


# --- sample requests -----------------------------------------------------------------


@lru_cache(maxsize=32)
def sample_case(language: str, gold: Path = GOLD_DIR) -> GoldCase | None:
    """The language's first gold case with a draft (the sample every version renders)."""
    cases = [c for c in load_gold(gold) if c.language == language and c.input.get("draft")]
    return cases[0] if cases else None


def sample_requests(language: str, channel: str) -> dict[str, CoachRequest]:
    """``full``: the gold sample with history, facts, names, commitments and an abusive
    line; ``bare``: the customer's message alone."""
    case = sample_case(language)
    message = str(case.input["customer_message"]) if case else "The parcel never arrived."
    draft = str(case.input["draft"]) if case else "Please wait."
    full = CoachRequest(
        customer_message=message + " You are useless!",
        draft=draft,
        language=language,
        channel=channel,
        history=[
            HistoryTurn(role="customer", text=message),
            HistoryTurn(role="agent", text=draft),
        ],
        context=Context(
            customer_name="Alex",
            agent_name="Sam",
            company="Example Ltd",
            facts=["order 1182"],
            allowed_commitments=["refund"],
        ),
    )
    bare = CoachRequest(customer_message=message, language=language, channel=channel)
    return {"full": full, "bare": bare}


def _sample_violations(language: str, text: str) -> list[dict[str, Any]]:
    from coach.checker import check

    found = [v.model_dump(mode="json") for v in check(text, language).violations]
    return found or [
        {
            "rule": f"{language}.dismissive.sample",
            "category": "dismissive",
            "severity": "block",
            "start": 0,
            "end": 4,
            "text": text[:4],
            "message": "a sample violation",
            "suggestion": None,
        }
    ]


def rendered_messages(prompts: PromptSet, request: CoachRequest) -> dict[str, str]:
    """Every message the version sends for ``request`` (its language set), by part."""
    language = request.language or "en"
    state = analyze(request.customer_message, language, request.history)
    system, user = prompts.coach.render(**coach_values(prompts, request, language, state))
    draft = request.draft or request.customer_message
    reasons = " ".join(
        prompts.coach.render_reason(k, **reason_values(prompts, language, "en"))
        for k in prompts.coach.reasons
    )
    review = review_messages(prompts, draft, language)
    judge = judge_messages(
        prompts.judge, request.customer_message, draft, request.customer_message, 1
    )
    return {
        "coach.system": system,
        "coach.user": user,
        "coach.reask": prompts.coach.render_reask(
            reasons, _sample_violations(language, draft), ["order 9999"]
        ),
        "coach.invalid": prompts.coach.render_invalid("the answer is not valid JSON"),
        "review.system": review[0]["content"],
        "review.user": review[1]["content"],
        "review.invalid": prompts.review.render_invalid("the answer is not valid JSON"),
        "judge.system": judge[0]["content"],
        "judge.user": judge[1]["content"],
    }


# --- check -------------------------------------------------------------------------


@dataclass
class CheckReport:
    version: str
    tokenizer: str
    # language -> {column: tokens}; columns: coach/<channel>, reask, review, judge
    tokens: dict[str, dict[str, int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    renders: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def languages_to_check() -> list[str]:
    """Every language the built-in rule packs check and every phrasebook's."""
    from coach.checker import default_ruleset
    from coach.phrasebook import phrasebook_languages

    return sorted(set(default_ruleset().language_codes) | set(phrasebook_languages()))


def check_version(version: str, extra_dir: Path | None = None) -> CheckReport:
    count, tokenizer = token_counter()
    try:
        prompts = load_prompt_set(version, extra_dir)
    except PromptError as exc:
        return CheckReport(version, tokenizer, problems=[str(exc)])
    report = CheckReport(version, tokenizer)
    named = prompts.vocabulary.languages
    for language in languages_to_check():
        if language not in named:
            report.problems.append(
                f"{prompts.folder / 'vocabulary.yaml'}: language {language} has no name "
                "(the rule packs check it)"
            )
            continue
        row: dict[str, int] = {}
        for channel in CHANNELS:
            for kind, request in sample_requests(language, channel).items():
                try:
                    parts = rendered_messages(prompts, request)
                except PromptError as exc:
                    report.problems.append(f"{language}/{channel}/{kind}: {exc}")
                    continue
                report.renders += 1
                if kind != "full":
                    continue
                row[f"coach/{channel}"] = count(parts["coach.system"]) + count(parts["coach.user"])
                row["reask"] = count(parts["coach.reask"])
                row["review"] = count(parts["review.system"]) + count(parts["review.user"])
                row["judge"] = count(parts["judge.system"]) + count(parts["judge.user"])
        report.tokens[language] = row
    return report


# --- diff --------------------------------------------------------------------------


def diff_versions(
    old: str,
    new: str,
    *,
    language: str = "en",
    channel: str = "chat",
    extra_dir: Path | None = None,
) -> list[str]:
    """Unified diff lines of every message of ``new`` against ``old`` for the sample
    request of ``language`` and ``channel`` (empty when the model sees the same)."""
    request = sample_requests(language, channel)["full"]
    before = rendered_messages(load_prompt_set(old, extra_dir), request)
    after = rendered_messages(load_prompt_set(new, extra_dir), request)
    lines: list[str] = []
    for part in before:
        lines += difflib.unified_diff(
            before[part].splitlines(),
            after[part].splitlines(),
            fromfile=f"{old}/{part}",
            tofile=f"{new}/{part}",
            lineterm="",
        )
    return lines


def format_check(report: CheckReport) -> str:
    """The check's table (tokens per language and message) and its verdict."""
    columns = [*(f"coach/{c}" for c in CHANNELS), "reask", "review", "judge"]
    lines = [f"prompt version {report.version} (tokens: {report.tokenizer})"]
    if report.tokens:
        lines.append("  ".join([f"{'lang':<5}", *(f"{c:>12}" for c in columns)]))
        for language, row in sorted(report.tokens.items()):
            cells = [f"{row[c]:>12}" if c in row else f"{'-':>12}" for c in columns]
            lines.append("  ".join([f"{language:<5}", *cells]))
    lines += [f"problem: {p}" for p in report.problems]
    verdict = "ok" if report.ok else f"FAILED ({len(report.problems)} problem(s))"
    lines.append(f"{report.version}: {report.renders} renders, {verdict}")
    return "\n".join(lines)
