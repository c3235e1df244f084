"""The embedded default: a deterministic coach built from the rules and the
phrasebooks' technique templates. Offline, no key, and the fallback whenever
a model fails or its reply cannot be made to pass.

The reply follows the seed guides' order: greet by name, acknowledge the
problem (worded for the detected trigger), apologise once, set a boundary if
the customer is abusive, then the agent's draft with its blocking sentences
repaired away (or, with no draft, the known facts and what the agent will
check), an offer within ``allowed_commitments``, a confirmation question and
the "anything else?" question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from coach.phrasebook import Greeting, Phrasebook, phrasebook
from coach.schemas import Channel, Context, CustomerState, Technique, Trigger
from rules.normalize import fold_string
from rules.pattern import compile_any

# Which acknowledgement speaks to the customer's situation best, when several apply.
_TRIGGER_PRIORITY = (
    Trigger.UNRESOLVED_ISSUE,
    Trigger.LACK_OF_COMMUNICATION,
    Trigger.BILLING,
    Trigger.OUTAGE,
    Trigger.OWN_PRIORITY,
    Trigger.DISTRUST,
)
# Offers in the order they are made, and when each one fits.
_OFFER_ORDER = ("refund", "replacement", "compensation", "callback_24h")
# Public social replies are short (X/Twitter's limit).
SOCIAL_LIMIT = 280


@dataclass
class RulesReply:
    text: str
    techniques: list[Technique]
    notes: list[str] = field(default_factory=list)


@lru_cache(maxsize=32)
def _marker(language: str, kind: str) -> re.Pattern[str]:
    book = phrasebook(language)
    patterns = getattr(book.markers, kind)
    return compile_any(patterns)


def _starts_with_greeting(language: str, text: str) -> bool:
    head = fold_string(text.lstrip()[:40])
    return bool(_marker(language, "greeting").match(head))


def apologises(language: str, text: str) -> bool:
    """Whether ``text`` apologises (the phrasebook's apology markers)."""
    return bool(_marker(language, "apology").search(fold_string(text)))


def _fill(template: str, context: Context) -> str:
    return template.format(
        name=context.customer_name or "",
        agent=context.agent_name or "",
        company=context.company or "",
    )


def _offers(book: Phrasebook, context: Context, state: CustomerState) -> list[tuple[str, str]]:
    allowed = {c.strip().lower() for c in context.authorised}
    chosen: list[tuple[str, str]] = []
    for name in _OFFER_ORDER:
        if name not in allowed or name not in book.coach.offers:
            continue
        if name == "refund" and Trigger.BILLING not in state.triggers:
            continue
        if name == "compensation" and state.escalation_risk < 0.5:
            continue
        chosen.append((name, book.coach.offers[name]))
    return chosen


def rules_reply(
    *,
    language: str,
    customer_message: str,
    repaired_draft: str | None,
    context: Context,
    state: CustomerState,
    channel: Channel = "chat",
    refused: bool = False,
    upset: bool | None = None,
    customer_facts: Sequence[str] = (),
) -> RulesReply:
    """A reply built from templates; callers still run the rules on it.

    ``repaired_draft`` is what may be kept of the agent's draft (default-deny,
    ``coach/draft_filter.py``); ``refused`` says the draft turned something down
    (a policy, "nothing I can do", another department), so an alternative is offered;
    ``upset=True`` treats the customer as upset whatever the analysis found (the agent's
    draft apologised to them); ``customer_facts`` are the references the customer gave
    (``coach.facts.customer_references``), cited back once."""
    book = phrasebook(language)
    phrases = book.coach
    techniques: list[Technique] = [Technique.STAY_CALM]
    notes: list[str] = []
    draft = (repaired_draft or "").strip()

    opening: list[str] = []
    if not (draft and _starts_with_greeting(language, draft)):
        greeting = phrases.email_greeting if channel == "email" else phrases.greeting
        line = _fill(greeting.named, context) if context.customer_name else greeting.plain
        if channel != "email" and line.endswith(","):
            # Inline, the next sentence starts with a capital; French sets "!" apart.
            line = line[:-1] + ("\u202f!" if language == "fr" else "!")
        opening.append(line)
        if context.customer_name:
            techniques.append(Technique.USE_NAME)

    if upset is None:
        upset = state.emotion != "neutral" or bool(state.triggers) or state.abusive
    acknowledgement: list[str] = []
    extra_acknowledgements: list[str] = []
    if upset:
        # One acknowledgement per trigger the analysis found, the most pressing first.
        keys: list[str] = [
            t.value
            for t in _TRIGGER_PRIORITY
            if t in state.triggers and t.value in phrases.acknowledge
        ] or ["default"]
        acknowledgement += [phrases.acknowledge[key] for key in keys]
        extra_acknowledgements = [phrases.acknowledge[key] for key in keys[1:]]
        techniques += [Technique.ACKNOWLEDGE, Technique.EMPATHIZE]
        if keys != ["default"]:
            named = ", ".join(k.replace("_", " ") for k in keys)
            notes.append(f"Acknowledged what set the customer off, most pressing first: {named}.")
        if not (draft and apologises(language, draft)):
            acknowledgement.append(phrases.apology)
            techniques.append(Technique.APOLOGIZE)
    else:
        acknowledgement.append(phrases.thanks)
    if state.abusive:
        acknowledgement += [phrases.boundary, phrases.supervisor]
        techniques += [Technique.SET_BOUNDARY, Technique.OFFER_SUPERVISOR]
        notes.append(
            "The message contains insults or threats: set a calm boundary once and offer a supervisor; do not answer in kind."
        )

    body: list[str] = []
    facts_line = ""
    if draft:
        body.append(draft)
    elif context.facts:
        facts_line = (
            phrases.facts_intro + " " + "; ".join(f.rstrip(".") for f in context.facts) + "."
        )
        body.append(facts_line)
        techniques.append(Technique.SIMPLIFY)
    cited = [f for f in customer_facts if f not in draft and f not in facts_line]
    restated = phrases.restate_facts.format(facts=", ".join(cited)) if cited else ""
    if restated:
        # The customer's own references (order number, amount), so they see they were read.
        body.insert(0, restated)
        techniques.append(Technique.SIMPLIFY)
    elif state.emotion == "confused" and not facts_line:
        body.insert(0, phrases.restate)
        techniques.append(Technique.SIMPLIFY)
    if not draft or upset:
        # What the agent will check: the root cause, whatever the draft already did.
        body.append(
            phrases.investigate if (draft or context.facts or upset) else phrases.ask_details
        )
        techniques += [Technique.ROOT_CAUSE, Technique.PROMISE_TO_TRY]
    if refused:
        body.append(phrases.alternative)
        techniques.append(Technique.OFFER_ALTERNATIVES)
    if draft.endswith("?") and body and body[-1] != draft and draft in body:
        # The draft's closing question (the booking number, a choice) stays last.
        body.remove(draft)
        body.append(draft)

    closing: list[str] = []
    offers = _offers(book, context, state)
    for name, sentence in offers:
        closing.append(sentence)
        notes.append(f"Offered {name.replace('_', ' ')}: it is in the allowed commitments.")
    if offers:
        techniques.append(Technique.OFFER_SOLUTION)
        if any(name == "compensation" for name, _ in offers):
            techniques.append(Technique.OFFER_COMPENSATION)
    if any(name == "callback_24h" for name, _ in offers):
        techniques.append(Technique.FOLLOW_UP)
    else:
        closing.append(phrases.follow_up)
        techniques.append(Technique.FOLLOW_UP)
    if (offers or draft or phrases.investigate in body) and not draft.endswith("?"):
        # Something was proposed (an offer, what the draft does, what the agent will
        # check): ask whether it works for the customer.
        closing.append(phrases.confirm)
        techniques.append(Technique.CONFIRM_SOLUTION)
    if not draft.endswith("?"):
        closing.append(phrases.further_concerns)
        techniques.append(Technique.FURTHER_CONCERNS)

    text = _layout(channel, opening, acknowledgement, body, closing, phrases.signoff, context)
    if channel == "social" and len(text) > SOCIAL_LIMIT:
        # A public reply: drop the least needed sentences until it fits.
        droppable = [
            *((sentence, None) for sentence in reversed(extra_acknowledgements)),
            (phrases.follow_up, Technique.FOLLOW_UP),
            (phrases.confirm, Technique.CONFIRM_SOLUTION),
            (facts_line, Technique.SIMPLIFY),
            (phrases.alternative, Technique.OFFER_ALTERNATIVES),
            (phrases.restate, Technique.SIMPLIFY),
            (restated, Technique.SIMPLIFY),
            (phrases.supervisor, Technique.OFFER_SUPERVISOR),
            (phrases.further_concerns, Technique.FURTHER_CONCERNS),
            *(
                (sentence, Technique.FOLLOW_UP if name == "callback_24h" else None)
                for name, sentence in offers[1:]
            ),
            (phrases.apology, None),
            (phrases.investigate, Technique.PROMISE_TO_TRY),
            *((sentence, None) for _, sentence in offers[:1]),
        ]
        for sentence, technique in droppable:
            if len(text) <= SOCIAL_LIMIT:
                break
            for part in (acknowledgement, body, closing):
                if sentence and sentence in part:
                    part.remove(sentence)
                    if technique in techniques:
                        techniques.remove(technique)
            text = _layout(
                channel, opening, acknowledgement, body, closing, phrases.signoff, context
            )
    return RulesReply(text=text, techniques=list(dict.fromkeys(techniques)), notes=notes)


def _layout(
    channel: Channel,
    opening: list[str],
    acknowledgement: list[str],
    body: list[str],
    closing: list[str],
    signoff: Greeting,
    context: Context,
) -> str:
    if channel == "phone":
        # A script: one sentence to say per line.
        return "\n".join(s for s in (*opening, *acknowledgement, *body, *closing) if s)
    if channel == "email":
        paragraphs = [" ".join(p) for p in (acknowledgement, body, closing) if p]
        parts = [*opening, *paragraphs]
        sign = _fill(signoff.named, context) if context.agent_name else signoff.plain
        if context.company:
            sign += "\n" + context.company
        parts.append(sign)
        return "\n\n".join(parts)
    return " ".join(s for s in (*opening, *acknowledgement, *body, *closing) if s)
