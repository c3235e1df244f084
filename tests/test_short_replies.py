"""One-to-three-word replies: checked whatever the detector says.

Short texts are detected badly ("thanks" -> tr, "Danke" -> nl, "Calmez-vous !" -> tr), so
a short or ambiguous text is checked with every plausible pack and a hint (the customer's
message, or hint_language) puts the conversation's language first. The lines come from a
helper who never saw the packs (tests/data/README.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import running_server  # type: ignore[import-not-found]

from coach import check
from coach.langdetect import detect
from coach.schemas import CheckResult
from coach.settings import CoachSettings
from rules import load_rules

RULES = load_rules()
LANGUAGES = ("en", "tr", "ro", "fi", "ms", "es", "de", "fr", "pt")
LINES = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "short_replies.jsonl")
    .read_text(encoding="utf-8")
    .splitlines()
]
# A customer message per language: the conversation the short reply answers.
CUSTOMERS = {
    "en": "My parcel is two weeks late and nobody answers my emails. This is ridiculous.",
    "tr": "Siparişim iki haftadır gelmedi ve kimse e-postalarıma cevap vermiyor. Bu çok saçma.",
    "ro": "Coletul meu întârzie de două săptămâni și nimeni nu îmi răspunde la e-mailuri.",
    "fi": "Pakettini on kaksi viikkoa myöhässä eikä kukaan vastaa sähköposteihini. Tämä on naurettavaa.",
    "ms": "Bungkusan saya sudah lewat dua minggu dan tiada siapa membalas e-mel saya. Ini tidak masuk akal.",
    "es": "Mi paquete lleva dos semanas de retraso y nadie contesta mis correos. Es ridículo.",
    "de": "Mein Paket ist seit zwei Wochen überfällig und niemand beantwortet meine E-Mails. Das ist lächerlich.",
    "fr": "Mon colis a deux semaines de retard et personne ne répond à mes e-mails. C'est ridicule.",
    "pt": "A minha encomenda está duas semanas atrasada e ninguém responde aos meus e-mails. É ridículo.",
}


def ids(line: dict[str, Any]) -> str:
    return str(line["id"])


def findings(result: CheckResult) -> set[tuple[str, int, int]]:
    return {(v.category.value, v.start, v.end) for v in result.violations}


def test_the_blind_lines_cover_every_language_and_both_labels() -> None:
    for language in LANGUAGES:
        mine = [x for x in LINES if x["language"] == language]
        assert sum(x["label"] == "violating" for x in mine) >= 10, language
        assert sum(x["label"] == "clean" for x in mine) >= 10, language
        assert all(1 <= len(x["text"].split()) <= 3 for x in mine)
    assert set(CUSTOMERS) == set(LANGUAGES) == set(RULES.languages)


@pytest.mark.parametrize("line", LINES, ids=ids)
def test_detection_never_loses_what_the_pack_finds(line: dict[str, Any]) -> None:
    """Whatever the pack of the line's language flags with the language given is flagged
    without it too, and with the conversation as a hint."""
    text, language = line["text"], line["language"]
    given = check(text, language, ruleset=RULES)
    guessed = check(text, ruleset=RULES)
    hinted = check(text, ruleset=RULES, customer_message=CUSTOMERS[language])
    assert findings(given) <= findings(guessed), (guessed.checked_languages, guessed.notes)
    assert findings(given) <= findings(hinted), (hinted.checked_languages, hinted.notes)
    assert given.passed == hinted.passed
    # The hint settles a short text: the conversation's language first, said in the notes
    # (unless the text is unmistakable by itself: "Elim kolum bağlı." has only one reading).
    assert hinted.language == language
    assert hinted.checked_languages[0] == language
    if guessed.language_source == "detected" and len(guessed.checked_languages) == 1:
        assert hinted.language_source == "detected"
    else:
        assert hinted.language_source == "hint"
        assert any("customer's message" in note for note in hinted.notes)


@pytest.mark.parametrize("line", [x for x in LINES if x["label"] == "clean"], ids=ids)
def test_clean_short_lines_pass_with_and_without_hints(line: dict[str, Any]) -> None:
    text, language = line["text"], line["language"]
    assert check(text, ruleset=RULES).passed
    assert check(text, ruleset=RULES, hint_language=language).passed
    assert check(text, ruleset=RULES, customer_message=CUSTOMERS[language]).passed


@pytest.mark.parametrize("line", LINES, ids=ids)
def test_a_short_text_never_reports_a_language_without_a_pack(line: dict[str, Any]) -> None:
    result = check(line["text"], ruleset=RULES)
    assert result.detected_language in (*RULES.languages, None)
    assert result.language in RULES.languages
    if len(result.checked_languages) > 1:
        assert any("unsure" in note for note in result.notes)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Calmez-vous !", "fr"),  # detected as Turkish by itself
        ("Du calme.", "fr"),
        ("C'est garanti !", "fr"),
        ("Cálmese.", "es"),  # detected as Portuguese by itself
        ("Sakin olun.", "tr"),
        ("Calm down!", "en"),
        ("Rauhoitu.", "fi"),
        ("Bertenang.", "ms"),
        ("Calmați-vă!", "ro"),
        ("Beruhigen Sie sich!", "de"),
        ("Acalme-se!", "pt"),
    ],
)
def test_known_short_violations_block_without_a_language(text: str, language: str) -> None:
    result = check(text, ruleset=RULES)
    assert not result.passed, (result.checked_languages, result.notes)
    assert any(v.rule.startswith(f"{language}.") for v in result.violations)


@pytest.mark.parametrize("text", ["thanks", "Hola", "hi", "ok", "Danke", "Merhaba"])
def test_one_word_greetings_are_unsure_not_misreported(text: str) -> None:
    result = check(text, ruleset=RULES)
    assert result.passed
    assert result.detected_language in (*RULES.languages, None)
    assert len(result.checked_languages) >= 2
    # e.g. "Danke": the detector's first guess is Dutch, which has no pack here.
    assert detect(text, tuple(RULES.languages)).language in RULES.languages


def test_a_long_clear_text_is_checked_with_one_pack() -> None:
    result = check(
        "Thank you for waiting. I have refunded the order today and sent you the receipt.",
        ruleset=RULES,
    )
    assert result.checked_languages == ["en"]
    assert result.language_source == "detected"
    assert not any("unsure" in note for note in result.notes)


def test_the_language_given_wins_over_hints() -> None:
    result = check("Calmez-vous !", "tr", ruleset=RULES, customer_message=CUSTOMERS["fr"])
    assert result.checked_languages == ["tr"]
    assert result.language_source == "given"


def test_a_hint_without_a_pack_is_ignored() -> None:
    result = check("Calmez-vous !", ruleset=RULES, hint_language="it")
    assert result.language_source == "detected"
    assert "fr" in result.checked_languages
    assert not result.passed


def test_a_bad_hint_language_is_a_usage_error() -> None:
    with pytest.raises(ValueError, match="not a language code"):
        check("ok", ruleset=RULES, hint_language="not a code!")


# --- over HTTP ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("short") / "coach.db"
    settings = CoachSettings(database_url=f"sqlite:///{db}", rate_limit_per_minute=0)
    with running_server(settings) as url:
        yield url


@pytest.mark.parametrize("language", LANGUAGES)
def test_v1_check_takes_the_customer_message_as_a_hint(server: str, language: str) -> None:
    violating = [
        x
        for x in LINES
        if x["language"] == language
        and x["label"] == "violating"
        and not check(x["text"], language, ruleset=RULES).passed
    ]
    clean = [x for x in LINES if x["language"] == language and x["label"] == "clean"]
    assert violating, language
    for line in [*violating, *clean]:
        body = {"text": line["text"], "customer_message": CUSTOMERS[language]}
        got = httpx.post(f"{server}/v1/check", json=body, timeout=10).json()
        assert got["language"] == language, got
        assert got["language_source"] in ("hint", "detected")
        assert got["checked_languages"][0] == language
        assert got["passed"] is (line["label"] == "clean"), (line, got)


def test_v1_check_hint_language_and_bad_hints(server: str) -> None:
    ok = httpx.post(
        f"{server}/v1/check", json={"text": "Du calme.", "hint_language": "fr"}, timeout=10
    )
    assert ok.status_code == 200
    assert ok.json()["language_source"] == "hint"
    assert ok.json()["passed"] is False
    bad = httpx.post(
        f"{server}/v1/check", json={"text": "ok", "hint_language": "?? no"}, timeout=10
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["code"]
    long = httpx.post(
        f"{server}/v1/check", json={"text": "ok", "customer_message": "x" * 8001}, timeout=10
    )
    assert long.status_code == 422
