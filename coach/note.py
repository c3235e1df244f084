"""The incident note: the Romanian guide's last step, written from the conversation.

Deterministic: who the customer is, the problem (their first message, first
sentences), the discussion (one line per turn), the agreed solution and the
follow-up (given, or the agent's last turn), and the triggers the analysis
found, under headings in the conversation's language. Personal data is
redacted from the quoted text: the note goes into ticket systems.
"""

from __future__ import annotations

from collections.abc import Sequence

from coach.analysis import analyze
from coach.phrasebook import phrasebook
from coach.prompting import PromptError
from coach.redact import redact
from coach.schemas import Context, HistoryTurn
from rules.engine import sentence_spans

_LINE_LIMIT = 160


def _first_sentences(text: str, limit: int = 2) -> str:
    spans = sentence_spans(text)[:limit]
    taken = " ".join(text[s:e] for s, e in spans) or text.strip()
    taken = " ".join(taken.split())
    return taken if len(taken) <= _LINE_LIMIT * 2 else taken[: _LINE_LIMIT * 2 - 1] + "…"


def _line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _LINE_LIMIT else flat[: _LINE_LIMIT - 1] + "…"


def incident_note(
    history: Sequence[HistoryTurn],
    language: str,
    context: Context,
    agreed_solution: str | None = None,
    follow_up: str | None = None,
) -> dict[str, object]:
    try:
        headings = phrasebook(language).note
    except PromptError:
        language = "en"
        headings = phrasebook("en").note
    customer_turns = [t for t in history if t.role == "customer"]
    agent_turns = [t for t in history if t.role == "agent"]
    problem = (
        redact(_first_sentences(customer_turns[0].text)) if customer_turns else headings.unknown
    )
    state = analyze(customer_turns[-1].text if customer_turns else "", language, history)
    discussion = [
        f"{'C' if t.role == 'customer' else 'A'}: {redact(_line(t.text))}" for t in history
    ]
    solution = agreed_solution or (
        redact(_first_sentences(agent_turns[-1].text, 3)) if agent_turns else headings.no_solution
    )
    follow = follow_up or headings.no_follow_up
    customer = context.customer_name or headings.unknown
    triggers = [t.value for t in state.triggers]
    lines = [
        f"{headings.title}",
        f"{headings.customer}: {customer}",
        f"{headings.problem}: {problem}",
        f"{headings.triggers}: {', '.join(triggers) if triggers else '-'}",
        f"{headings.discussion}:",
        *(f"- {d}" for d in discussion),
        f"{headings.agreed_solution}: {redact(solution)}",
        f"{headings.follow_up}: {redact(follow)}",
    ]
    return {
        "language": language,
        "customer": customer,
        "problem": problem,
        "discussion": discussion,
        "agreed_solution": redact(solution),
        "follow_up": redact(follow),
        "triggers": triggers,
        "text": "\n".join(lines),
    }
