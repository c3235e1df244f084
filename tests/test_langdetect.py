"""Language detection on short agent replies, the case that matters for the coach."""

from __future__ import annotations

import pytest

from coach import check
from coach.langdetect import detect
from rules import load_rules

RULES = load_rules()
SEED_LANGUAGES = ["en", "tr", "ro", "fi", "ms", "es", "de", "fr", "pt"]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Calm down.", "en"),
        ("I'm busy now.", "en"),
        ("That's not our policy.", "en"),
        ("SAKİN OLUN", "tr"),
        ("Sakin olun lutfen.", "tr"),
        ("Yanlış anladınız.", "tr"),
        ("Bu bizim politikamız değil.", "tr"),
        ("Calmați-vă!", "ro"),
        ("calmati-va, nu e politica noastra", "ro"),
        ("Ați înțeles greșit.", "ro"),
        ("Rauhoitu.", "fi"),
        ("RAUHOITU NYT", "fi"),
        ("Ymmärsit väärin.", "fi"),
        ("Olen kiireinen nyt.", "fi"),
        ("Sila bertenang.", "ms"),
        ("Saya sibuk sekarang.", "ms"),
        ("Anda salah faham.", "ms"),
        ("Itu bukan polisi kami.", "ms"),
    ],
)
def test_short_replies_are_detected(text: str, language: str) -> None:
    assert detect(text).language == language, detect(text).scores


@pytest.mark.parametrize("language", SEED_LANGUAGES)
def test_pack_examples_are_detected_as_their_language(language: str) -> None:
    lines = [
        line
        for rule in RULES.rules
        if rule.language == language
        for line in (*rule.spec.examples.flag, *rule.spec.examples.pass_)
    ]
    assert len(lines) >= 25
    packs = tuple(RULES.languages)
    wrong = [
        (line, detect(line, packs).language)
        for line in lines
        if detect(line, packs).language != language
    ]
    accuracy = 1 - len(wrong) / len(lines)
    assert accuracy >= 0.9, f"{language}: {accuracy:.0%} right; wrong: {wrong[:10]}"


def test_indonesian_is_checked_with_the_malay_rules() -> None:
    result = check("Mohon maaf, kami sedang memeriksa pesanan Anda dan akan segera mengabari.")
    assert result.language == "ms"
    assert result.detected_language in {"id", "ms"}
    if result.detected_language == "id":
        assert result.notes == ["detected id; checked with the ms rules"]


def test_unsupported_language_falls_back_to_english_and_says_so() -> None:
    result = check("Si calmi, per favore, ce ne occupiamo noi adesso.")
    assert result.language == "en"
    assert result.language_source == "fallback"
    assert result.detected_language == "it"
    assert "no rule pack" in result.notes[0]


def test_text_without_letters_falls_back() -> None:
    result = check("12345 !!")
    assert result.language == "en" and result.language_source == "fallback"
    assert result.detected_language is None
