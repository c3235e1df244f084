"""Customer analysis, the no-new-facts check and the phrasebooks (prompt versions:
test_prompts.py)."""

from __future__ import annotations

import pytest

from coach.analysis import analyze
from coach.facts import FactSource, drop_new_facts, new_facts
from coach.phrasebook import phrasebook, phrasebook_languages
from coach.schemas import HistoryTurn, Trigger

# --- analysis ---------------------------------------------------------------

TRIGGER_CASES = [
    (
        "en",
        "I've been on hold for an hour and nobody called me back.",
        Trigger.LACK_OF_COMMUNICATION,
    ),
    ("en", "The internet is down again and the app won't load.", Trigger.OUTAGE),
    ("en", "Why was I charged twice on my last invoice?", Trigger.BILLING),
    ("en", "Same problem, third time this month, still not fixed.", Trigger.UNRESOLVED_ISSUE),
    ("en", "You are lying to me, I don't trust a word you say.", Trigger.DISTRUST),
    ("en", "I need this fixed right now, my customers are waiting.", Trigger.OWN_PRIORITY),
    ("tr", "Kimse dönmedi, hala bekliyorum.", Trigger.LACK_OF_COMMUNICATION),
    ("tr", "İnternet yine çalışmıyor, bağlanamıyorum.", Trigger.OUTAGE),
    ("tr", "Faturamda iki kez ücret var.", Trigger.BILLING),
    ("ro", "Nimeni nu răspunde la telefon.", Trigger.LACK_OF_COMMUNICATION),
    ("ro", "Nu funcționează internetul deloc.", Trigger.OUTAGE),
    ("ro", "Factura este de două ori mai mare.", Trigger.BILLING),
    ("fi", "Kukaan ei vastaa viesteihini.", Trigger.LACK_OF_COMMUNICATION),
    ("fi", "Netti ei toimi ollenkaan.", Trigger.OUTAGE),
    ("fi", "Laskussa on väärä summa.", Trigger.BILLING),
    ("ms", "Tiada jawapan daripada sesiapa.", Trigger.LACK_OF_COMMUNICATION),
    ("ms", "Internet tak boleh guna langsung.", Trigger.OUTAGE),
    ("ms", "Saya dicaj dua kali bulan ini.", Trigger.BILLING),
]


@pytest.mark.parametrize(("language", "message", "trigger"), TRIGGER_CASES)
def test_triggers_are_found(language: str, message: str, trigger: Trigger) -> None:
    assert trigger in analyze(message, language).triggers


def test_escalation_risk_orders_calm_upset_and_abusive() -> None:
    calm = analyze("Hello, when does my order ship?", "en")
    upset = analyze("I was charged twice and nobody answers!", "en")
    worst = analyze("YOU ARE IDIOTS. I want my money back or I call my lawyer!!!", "en")
    assert calm.emotion == "neutral" and calm.triggers == [] and not calm.abusive
    assert calm.escalation_risk < upset.escalation_risk < worst.escalation_risk <= 1.0
    assert worst.abusive and worst.emotion == "angry"
    assert "writes in capitals" in worst.signals
    assert any(s.startswith("escalation:") for s in worst.signals)


def test_legal_action_is_escalation_not_a_threat() -> None:
    state = analyze("If this is not fixed I will sue you.", "en")
    assert not state.threatening and not state.abusive
    threat = analyze("I know where you work, you'll regret this.", "en")
    assert threat.threatening and threat.abusive


def test_earlier_messages_count() -> None:
    history = [
        HistoryTurn(role="customer", text="My router is broken."),
        HistoryTurn(role="agent", text="Restart it."),
    ]
    first = analyze("It still does not work!", "en")
    again = analyze("It still does not work!", "en", history)
    assert again.escalation_risk > first.escalation_risk
    assert Trigger.UNRESOLVED_ISSUE in again.triggers


def test_words_inside_other_words_do_not_count() -> None:
    # Malay "bilakah" (when) is not "bil" (bill); English "sued" is not "sue"... but "sue" is.
    assert Trigger.BILLING not in analyze("Bilakah pesanan saya sampai?", "ms").triggers
    assert analyze("Bilakah pesanan saya sampai?", "ms").emotion == "neutral"


# --- no new facts -------------------------------------------------------------


def test_new_facts_are_found_and_known_ones_pass() -> None:
    source = FactSource(
        [
            "Order 1182 shipped on 3 Nov, I paid $49.99. Call +60 12-345 6789.",
            "https://shop.example.com/help",
        ],
        ["callback_24h"],
    )
    reply = (
        "Order 1182 shipped on 3 Nov and you paid $49.99. I will call 60123456789 within 24 hours. "
        "Your refund of $120 comes by 12/05/2026. See https://shop.example.com/help/returns or "
        "www.other.example. Write to help@shop.example.\n1. Check the box."
    )
    found = [(f.kind, f.text) for f in new_facts(reply, source)]
    assert found == [
        ("number", "120"),
        ("number", "12/05/2026"),
        ("url", "www.other.example"),
        ("email", "help@shop.example"),
    ]


def test_dropping_new_facts_removes_whole_sentences_only() -> None:
    source = FactSource(["order 1182"])
    reply = "Thanks for waiting. Visit www.shop.example/help for order 1182. Your code is 777."
    facts = new_facts(reply, source)
    assert [f.text for f in facts] == ["www.shop.example/help", "777"]
    assert drop_new_facts(reply, facts) == "Thanks for waiting."


# --- prompts ----------------------------------------------------------------


def test_every_phrasebook_has_every_trigger_and_offer() -> None:
    assert phrasebook_languages() == ["de", "en", "es", "fi", "fr", "ms", "pt", "ro", "tr"]
    for language in phrasebook_languages():
        book = phrasebook(language)
        assert set(book.coach.acknowledge) == {"default", *(t.value for t in Trigger)}
        assert set(book.analysis.triggers) == {t.value for t in Trigger}
        assert set(book.coach.offers) == {"refund", "replacement", "compensation", "callback_24h"}


def test_a_match_inside_a_word_does_not_hide_a_later_one() -> None:
    from rules.pattern import compile_pattern, word_matches

    pattern = compile_pattern("(?:mohon maaf)|(?:maaf)", boundary=True)
    assert [m.group() for m in word_matches(pattern, "saya memohon maaf")] == ["maaf"]
    assert analyze("Saya nak batalkan langganan, memohon maaf tak guna", "ms").signals


@pytest.mark.parametrize(
    ("language", "text", "cited"),
    [
        ("en", "You charged me twice for order 1182, ticket #4455.", ["order 1182", "#4455"]),
        ("en", "My CVV is 123 and my PIN 4321, card 4111 1111 1111 1111.", []),
        ("en", "Write that I get a refund of $500 for order 88.", []),  # amounts never
        ("tr", "5521 numaralı siparişim için iki kez ücret aldınız.", ["5521 numaralı"]),
        ("fi", "Veloititte tilauksesta 1182 kahdesti vuonna 2024.", ["tilauksesta 1182"]),
        (
            "de",
            "Bestellung 5521 wurde doppelt abgebucht, Nr. 8812.",
            ["Bestellung 5521", "Nr. 8812"],
        ),
        ("ms", "Bil naik RM500 tanpa notis, pesanan 5521.", ["pesanan 5521"]),
    ],
)
def test_only_named_references_are_cited_back(language: str, text: str, cited: list[str]) -> None:
    from coach.facts import customer_references

    assert customer_references([text], language) == cited
