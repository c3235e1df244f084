"""The fallback: the offline rules coach's reply, which always passes the rules.

It answers when no model is configured (the embedded default), when every model failed
or ran out of time, and when a model's reply could be neither re-asked nor repaired into
one that passes. It keeps what the draft said that may stay (``coach/draft_filter.py``:
default-deny, each sentence left out named in the coaching notes), then builds the reply
from the phrasebook's wording (``coach/rules_coach.py``). If a custom rule pack still
bans something in it, the rules' repairs run, and as a last resort a minimal reply.
"""

from __future__ import annotations

from dataclasses import dataclass

from coach.draft_filter import filter_draft
from coach.facts import customer_references
from coach.guard import echoes
from coach.phrasebook import phrasebook, phrasebook_languages
from coach.prepare import Run
from coach.rules_coach import apologises, rules_reply
from coach.schemas import CheckResult, Technique
from rules.engine import drop_sentences

# Draft categories that turn the customer down, or promise what may not hold: the rules
# coach then offers to look for an alternative.
REFUSALS = ("policy_shield", "helpless", "brush_off", "runaround", "over_promise")


@dataclass
class Fallback:
    text: str
    check: CheckResult
    techniques: list[Technique]


def rules_suggestion(run: Run) -> Fallback:
    """The rules coach's reply to the run's request, in its language (English when the
    language has no phrasebook); its notes join ``run.coaching``."""
    request = run.request
    language = run.language
    book_language = language if language in phrasebook_languages() else "en"
    if book_language != language:
        run.coaching.append(f"The rules coach has no {language} wording; it wrote in English.")
    kept, refused, apologised = kept_draft(run, book_language)
    reply = rules_reply(
        language=book_language,
        customer_message=request.customer_message,
        repaired_draft=kept,
        context=request.context,
        state=run.state,
        channel=request.channel,
        refused=refused,
        upset=apologised or None,
        customer_facts=(
            customer_references(
                [
                    *(t.text for t in request.history if t.role == "customer"),
                    request.customer_message,
                ],
                language,
            )
            if request.customer_message != request.draft
            else ()
        ),
    )
    run.coaching.extend(reply.notes)
    text = reply.text
    if request.draft != request.customer_message and (spans := echoes(text, run)):
        # A draft that quoted the customer at length: their words are not the reply.
        text = drop_sentences(text, spans)
        run.coaching.append("Left out the customer's own words that the draft repeated.")
    text, result = ensure_passes(text, run, book_language)
    return Fallback(text, result, list(reply.techniques))


def kept_draft(
    run: Run, book_language: str, *, keep_neutral: bool = False
) -> tuple[str | None, bool, bool]:
    """Default-deny over the draft (``coach/draft_filter.py``): the sentences that may
    stay, whether the draft refused something (so an alternative is offered), and
    whether it apologises at all (the agent saw an upset customer, so the coach
    acknowledges and apologises in its own words). Each sentence left out is named in
    the coaching notes with the reason."""
    draft = (run.request.draft or "").strip()
    if not draft or run.draft_check is None:
        return None, False, False
    context = run.request.context
    filtered = filter_draft(
        draft,
        run.language,
        run.draft_check.violations,
        run.ruleset,
        facts=context.facts,
        allowed_commitments=context.authorised,
        keep_neutral=keep_neutral,
    )
    for sentence in filtered.left_out:
        run.coaching.append(f"Left out “{sentence.text}”: {sentence.reason}.")
    refused = any(v.category.value in REFUSALS for v in run.draft_check.violations) or any(
        s.reason.startswith(tuple("close to " + c.replace("_", " ") for c in REFUSALS))
        for s in filtered.left_out
    )
    # Any apology, sincere or not, says the agent saw an upset customer.
    apologised = any(apologises(book_language, s.text) for s in filtered.sentences)
    return filtered.text or None, refused, apologised


def ensure_passes(text: str, run: Run, book_language: str) -> tuple[str, CheckResult]:
    """The last line of defence: a reply that passes, whatever a custom pack bans."""
    result = run.check(text)
    if result.passed:
        return text, result
    fixed = run.ruleset.repair(text, run.language, run.request.context.authorised, max_rounds=3)
    result = run.check(fixed)
    if result.passed and fixed.strip():
        return fixed, result
    phrases = phrasebook(book_language).coach
    for candidate in (f"{phrases.thanks} {phrases.further_concerns}", phrases.thanks, "…"):
        result = run.check(candidate)
        if result.passed:
            return candidate, result
    raise AssertionError("even the minimal reply breaks a rule: the rule packs ban everything")
