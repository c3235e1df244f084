"""Default-deny for the agent's draft (coach/draft_filter.py, issue 14): a draft sentence goes
into the rules coach's suggestion only when it carries a fact, a question or an action and
no detector flags it."""

from __future__ import annotations

import pytest

from coach.checker import check, default_ruleset
from coach.draft_filter import carries_content, filter_draft
from coach.pipeline import Coach
from coach.schemas import CoachRequest
from coach.settings import CoachSettings
from evals.echo import UPSET, echoes, measure

# (language, sentence, what it carries or None): actions, negated actions, dates, nothing.
CONTENT = [
    ("en", "I have refunded the delivery fee.", "an action"),
    ("en", "I will not refund you.", None),
    ("en", "A technician visits on Friday.", "a fact"),
    ("en", "No need to get worked up over a late parcel.", None),
    ("de", "Ich habe Ihnen die Gebühr heute erstattet.", "an action"),
    ("de", "Das kann ich leider nicht erstatten.", None),
    ("de", "Regen Sie sich doch nicht so auf.", None),
    ("es", "Le he reembolsado el importe.", "an action"),
    ("es", "No voy a devolverle nada.", None),
    ("fr", "J'ai annulé la commande.", "an action"),
    ("fr", "Je ne vais pas vous rembourser.", None),
    ("pt", "Já reembolsei o valor.", "an action"),
    ("pt", "Não vou reembolsar nada.", None),
    ("ro", "Am trimis coletul azi.", "an action"),
    ("ro", "Nu am trimis nimic.", None),
    ("ro", "Nu e cazul să vă enervați.", None),
    ("fi", "Tarkistan asian heti.", "an action"),
    ("fi", "En voi tehdä mitään.", None),
    ("fi", "Paketti tulee perjantaina.", "a fact"),
    ("tr", "Ücretinizi iade ettim.", "an action"),
    ("tr", "Ücretinizi iade edemem.", None),
    ("tr", "Bu kadar büyütecek bir şey yok.", None),
    ("ms", "Saya telah menghantar bayaran balik.", "an action"),
    ("ms", "Saya tidak boleh buat apa-apa.", None),
    ("ms", "Tak perlu marah-marah, encik.", None),
    ("en", "Could you send me the order number?", "a question"),
    ("en", "Your order 5521 left the warehouse.", "a fact"),
]


@pytest.mark.parametrize(("language", "sentence", "carries"), CONTENT)
def test_content_is_a_fact_a_question_or_an_action_not_negated(
    language: str, sentence: str, carries: str | None
) -> None:
    assert carries_content(sentence, language) == carries


def test_a_word_of_the_context_facts_is_a_fact() -> None:
    assert carries_content("The blender goes back to the warehouse.", "en") is None
    facts = ["Replacement blender (model KX-2) ships from the Leeds warehouse."]
    assert carries_content("The blender goes back to the warehouse.", "en", {"leeds"}) is None
    from coach.draft_filter import _fact_words

    assert carries_content("The blender goes back to the warehouse.", "en", _fact_words(facts))


def _filtered(draft: str, language: str = "en", **kw: object):
    rs = default_ruleset()
    found = check(draft, language, ruleset=rs).violations
    return filter_draft(draft, language, found, rs, **kw)  # type: ignore[arg-type]


def test_flagged_and_empty_sentences_stay_out_with_their_reason() -> None:
    out = _filtered(
        "Calm down. Thanks for waiting. I have refunded the fee. No need to get worked up."
    )
    assert out.text == "I have refunded the fee."
    reasons = {s.text: s.reason for s in out.left_out}
    assert reasons["Calm down."].startswith("flagged dismissive")
    assert reasons["Thanks for waiting."] == "no fact or action the customer needs"
    assert "No need to get worked up." in reasons


def test_shouting_is_fixed_in_place_not_dropped() -> None:
    out = _filtered("I HAVE REFUNDED THE FEE TODAY.")
    assert out.text and out.text != "I HAVE REFUNDED THE FEE TODAY."
    assert out.text.lower() == "i have refunded the fee today."


def test_the_text_tool_keeps_neutral_sentences() -> None:
    # (a fact sentence the learned layer does not suspect: the retrained layer reads
    # "Your order ships Monday." as 0.45 blame, over the 0.3 floor)
    draft = "Thanks for waiting. That's not our policy. Your order 5521 ships on Monday."
    assert _filtered(draft).text == "Your order 5521 ships on Monday."
    assert (
        _filtered(draft, keep_neutral=True).text
        == "Thanks for waiting. Your order 5521 ships on Monday."
    )


def test_a_high_learned_layer_score_keeps_a_sentence_out() -> None:
    draft = "I have refunded the fee."
    assert _filtered(draft).text == draft
    assert _filtered(draft, model_floor=-1.0).text == ""  # any score is over the floor
    assert "learned layer" in _filtered(draft, model_floor=-1.0).left_out[0].reason


@pytest.mark.parametrize(
    ("language", "draft"),
    [
        ("en", "No need to get worked up over a late parcel."),
        ("en", "Billing sorts that out, not us, give them a ring."),
        ("tr", "Bu kadar büyütecek bir şey yok."),
        ("ro", "Nu depinde de mine."),
        ("fi", "Älä nyt hermostu turhaan."),
        ("ms", "Itu di luar kawalan saya."),
        ("de", "hab grad echt viel um die Ohren, meld dich später nochmal"),
    ],
)
def test_a_bad_draft_never_comes_back_as_the_better_reply(language: str, draft: str) -> None:
    coach = Coach(CoachSettings(model="rules"))
    result = coach.coach_sync(
        CoachRequest(customer_message=UPSET[language], draft=draft, language=language)
    )
    assert not echoes(draft, result.suggestion), result.suggestion
    assert any(note.startswith(("Left out", "Removed")) for note in result.coaching)


def test_what_the_draft_refused_gets_an_alternative_and_its_facts_stay() -> None:
    coach = Coach(CoachSettings(model="rules"))
    result = coach.coach_sync(
        CoachRequest(
            customer_message=UPSET["en"],
            draft="That's not our policy. Your order 5521 ships on Monday.",
            language="en",
        )
    )
    assert "Your order 5521 ships on Monday." in result.suggestion
    assert "not our policy" not in result.suggestion
    assert "another option" in result.suggestion
    assert "offer_alternatives" in [t.value for t in result.techniques]


def test_at_most_two_percent_of_violating_drafts_come_back_on_the_test_split() -> None:
    """Issue 14's number, on the frozen test split (no rule or threshold is tuned on it)."""
    table = measure("test")
    sent = sum(row["violating"] for row in table.values())
    back = sum(row["violating_back"] for row in table.values())
    assert sent >= 700 and set(table) == set(UPSET)
    assert back / sent <= 0.02, {k: dict(v) for k, v in table.items()}
