"""The model loop: ask each configured model in turn, guard its reply, re-ask, repair.

    for each model (COACH_MODEL, then COACH_FALLBACK_MODELS):
        ask (JSON; one re-ask on junk; the gateway's retries on transient errors)
        guard the reply (coach/guard.py)
        blocking problem -> re-ask naming it (up to COACH_MAX_REASKS times)
        still failing    -> deterministic repair: the rules' fixes, invented facts and
                            the customer's echoed words taken out
        still failing    -> give up: the rules coach answers (coach/fallback.py)

Every word sent to the model comes from the prompt version (``prompts/<version>/``):
the coaching prompt, the re-ask and its reasons, the vocabulary and the techniques.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coach.facts import drop_new_facts, new_facts
from coach.gateway import Answered, Deadline, Gateway, InvalidOutput, Message, ModelFailure
from coach.guard import Guarded, guard
from coach.prepare import Run
from coach.prompting import PromptSet, fence
from coach.schemas import Attempt, CoachRequest, CustomerState
from rules.engine import drop_sentences


@dataclass
class Accepted:
    """A model's reply that passed the guard (``degraded`` when it had to be repaired)."""

    model: str
    answered: Answered
    guarded: Guarded
    degraded: bool


def coach_values(
    prompts: PromptSet, request: CoachRequest, language: str, state: CustomerState
) -> dict[str, Any]:
    """The variables of ``coach.yaml`` for one request."""
    context = request.context
    info = prompts.language(language)
    return {
        "language_code": language,
        "language_name": info.name,
        "language_style": info.style,
        "channel": request.channel,
        "channel_style": prompts.channel_style(request.channel),
        "techniques": [t.model_dump() for t in prompts.techniques],
        "categories": prompts.categories(),
        "allowed_commitments": list(context.authorised),
        "facts": [fence(f) for f in context.facts],
        "customer_name": fence(context.customer_name or ""),
        "agent_name": fence(context.agent_name or ""),
        "company": fence(context.company or ""),
        "customer_message": fence(request.customer_message),
        "draft": fence(request.draft or ""),
        "history": [{"role": t.role, "text": fence(t.text)} for t in request.history],
        "customer_state": state.model_dump(mode="json"),
    }


def coach_messages(prompts: PromptSet, run: Run) -> list[Message]:
    system, user = prompts.coach.render(
        **coach_values(prompts, run.request, run.language, run.state)
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def reason_values(prompts: PromptSet, language: str, seen: str) -> dict[str, str]:
    """The variables of the re-ask's ``reasons``: the conversation's language and the one
    the reply was written in."""
    return {
        "language_code": language,
        "language_name": prompts.language(language).name,
        "seen_code": seen,
        "seen_name": prompts.language(seen).name,
    }


def reask_reason(prompts: PromptSet, guarded: Guarded, language: str) -> str:
    """The ``reason`` of the re-ask: the version's reasons that apply, in order."""
    template = prompts.coach
    values = reason_values(prompts, language, guarded.wrong_language or "")
    applies = {
        "rules": any(v.severity.value == "block" for v in guarded.check.violations),
        "wrong_language": bool(guarded.wrong_language),
        "echoes": bool(guarded.echoes),
    }
    parts = [template.render_reason(key, **values) for key, on in applies.items() if on]
    return " ".join(parts) or template.render_reason("default", **values)


def reask_messages(
    prompts: PromptSet, answered: Answered, guarded: Guarded, run: Run
) -> list[Message]:
    blocking = [v for v in guarded.check.violations if v.severity.value == "block"]
    content = prompts.coach.render_reask(
        reask_reason(prompts, guarded, run.language),
        [v.model_dump(mode="json") for v in blocking],
        [f.text for f in guarded.facts],
    )
    return [
        *answered.messages,
        {"role": "assistant", "content": answered.raw},
        {"role": "user", "content": content},
    ]


def repair(text: str, guarded: Guarded, run: Run) -> tuple[str, Guarded] | None:
    """``text`` without what the guard rejected, when enough of a reply is left."""
    if guarded.wrong_language:
        return None
    fixed = drop_sentences(text, guarded.echoes) if guarded.echoes else text
    fixed = drop_new_facts(fixed, new_facts(fixed, run.facts)) if guarded.facts else fixed
    fixed = run.ruleset.repair(fixed, run.language, run.request.context.authorised, max_rounds=3)
    if len(fixed.strip()) < 20 or len(fixed) < 0.4 * len(text):
        return None  # too little left to be a reply
    again = guard(fixed, run)
    return (fixed, again) if again.ok else None


async def ask_models(
    gateway: Gateway,
    models: list[str],
    prompts: PromptSet,
    run: Run,
    deadline: Deadline,
    max_reasks: int,
) -> Accepted | None:
    """The first model reply that passes the guard (or is repaired to pass), or None when
    the rules coach must answer. Every attempt is recorded in ``run.attempts``."""
    first = coach_messages(prompts, run)

    def invalid(exc: InvalidOutput) -> str:
        return prompts.coach.render_invalid(str(exc))

    for model in models:
        if deadline.expired:
            run.attempts.append(Attempt(model=model, outcome="deadline", detail="not tried"))
            continue
        messages = first
        for round_ in range(max_reasks + 1):
            try:
                answered = await gateway.ask(model, messages, deadline, invalid)
            except ModelFailure as exc:
                outcome = "invalid_output" if exc.kind == "invalid_output" else "error"
                if exc.kind == "deadline":
                    outcome = "deadline"
                run.attempts.append(Attempt(model=model, outcome=outcome, detail=exc.detail))
                break
            guarded = guard(answered.reply.reply, run)
            if guarded.ok:
                run.attempts.append(Attempt(model=model, outcome="accepted"))
                return Accepted(model, answered, guarded, degraded=False)
            problems = guarded.problems()
            if round_ < max_reasks and not deadline.expired:
                run.attempts.append(Attempt(model=model, outcome="reask", violations=problems))
                run.coaching.append(f"The model's reply was re-asked: {', '.join(problems)}.")
                messages = reask_messages(prompts, answered, guarded, run)
                continue
            repaired = repair(answered.reply.reply, guarded, run)
            if repaired is not None:
                run.attempts.append(Attempt(model=model, outcome="repaired", violations=problems))
                run.coaching.append(
                    "The model's reply still broke rules after re-asking; the failing "
                    f"sentences were taken out ({', '.join(problems)})."
                )
                answered.reply.reply = repaired[0]
                return Accepted(model, answered, repaired[1], degraded=True)
            run.attempts.append(Attempt(model=model, outcome="rejected", violations=problems))
            return None  # the rules coach takes over
    return None
