"""The matching engine: folding, offsets, exceptions, quotes, repair."""

from __future__ import annotations

import random
import re
import unicodedata

import pytest

from coach import Context, check, repair_text
from rules import load_rules, repair
from rules.model import Category
from rules.normalize import fold
from rules.pattern import compile_pattern, translate

RULES = load_rules()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SAKİN OLUN", "sakin olun"),
        ("Sakın olun", "sakin olun"),
        ("calmați-vă", "calmati-va"),  # comma below
        ("calmaţi-vă", "calmati-va"),  # cedilla
        ("RAUHOITU NYT", "rauhoitu nyt"),
        ("Ymmärsit väärin", "ymmarsit vaarin"),
        ("that’s", "that's"),
    ],
)
def test_fold_merges_the_spellings_agents_type(text: str, expected: str) -> None:
    folded = fold(text)
    assert folded.folded == expected
    assert len(folded.folded) == len(text) or folded.index_map is not None


def test_decomposed_input_keeps_exact_offsets() -> None:
    composed = "Vă rog, calmați-vă acum."
    decomposed = unicodedata.normalize("NFD", composed)
    assert len(decomposed) > len(composed)
    for text in (composed, decomposed):
        result = check(text, "ro")
        hits = [v for v in result.violations if v.category == "dismissive"]
        assert hits, text
        for v in hits:
            assert text[v.start : v.end] == v.text
            assert unicodedata.normalize("NFC", v.text).lower().startswith("calma")


def test_span_text_equals_input_slice_on_random_noise() -> None:
    rng = random.Random(7)
    alphabet = "abcİıŞşȘșŢţ ÄäÖö .,!?'’calm down CALM DOWN relax\u0301\u0327"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) + " calm down"
        for lang in ("en", "tr", "ro", "fi", "ms"):
            for f in RULES.check(text, lang):
                assert text[f.start : f.end] == f.text
                assert 0 <= f.start < f.end <= len(text)


def test_pattern_conveniences() -> None:
    assert translate("calm down") == r"calm[\W_]{1,4}down"
    assert translate("calmați-vă").startswith("calmati")
    rx = compile_pattern("that's not our policy")
    for text in ("that's not our policy", "thats not our policy", "that's  not, our policy"):
        assert rx.search(fold(text).folded), text
    rx = compile_pattern("100 ?%")
    assert rx.search("100%") and rx.search("100 %")
    with pytest.raises(ValueError, match="empty string"):
        compile_pattern("(?:a)?")


def test_whitespace_and_punctuation_are_flexible() -> None:
    for text in ("Calm   down!", "calm\ndown", "CALM... DOWN", "calm-down"):
        assert not check(text, "en").passed, text


def test_word_boundaries_hold() -> None:
    assert check("We hope you had a relaxing stay.", "en").passed
    assert check("Your recalm downloads will resume.", "en").passed


def test_quoted_customer_words_are_not_the_agents() -> None:
    text = "You wrote \"calm down, there's nothing I can do\" was what our agent said. I'm sorry."
    assert check(text, "en").passed
    email = "> you misunderstood, it's your fault\nI'm sorry about that reply. Here is the fix."
    assert check(email, "en").passed
    # The same words unquoted are the agent's own.
    assert not check("Calm down, there's nothing I can do.", "en").passed


def test_exceptions_keep_honest_hedges() -> None:
    assert check("I can't promise a date, but I'll do everything I can.", "en").passed
    assert check(
        "Our policy is to refund you in full.", "en", Context(allowed_commitments=["refund"])
    ).passed
    assert check("There's nothing more frustrating than a late parcel.", "en").passed


def test_over_promise_is_authorisation_aware() -> None:
    text = "I'll give you a full refund today."
    flagged = check(text, "en", Context(allowed_commitments=[]))
    assert not flagged.passed
    assert [v.rule for v in flagged.violations] == ["en.over_promise.refund"]
    assert check(text, "en", Context(allowed_commitments=["refund"])).passed
    # Allowing a different commitment does not allow this one.
    assert not check(text, "en", Context(allowed_commitments=["replacement"])).passed
    # Text the service itself writes is never authorised by itself.
    assert not check(text, "en", strict_commitments=True).passed


def test_a_commitment_warns_when_nobody_said_what_is_allowed() -> None:
    """No allowed_commitments: the service cannot know, so it warns, and says why."""
    text = "I guarantee you a full refund today."
    for context in (None, Context(customer_name="Ana")):
        result = check(text, "en", context)
        by_rule = {v.rule: v for v in result.violations}
        refund = by_rule["en.over_promise.refund"]
        assert refund.severity == "warn" and "No allowed_commitments" in refund.message
        # The guarantee inside it is no commitment: it still blocks.
        assert not result.passed
        assert any(
            v.severity == "block" and v.category == "over_promise" and v.rule != refund.rule
            for v in result.violations
        )
    assert check("I'll give you a full refund today.", "en").passed


def test_shouting_is_hostile_in_any_language() -> None:
    for lang, text in [
        ("en", "WE ALREADY SENT YOU THE TRACKING NUMBER."),
        ("fi", "OLEMME JO LÄHETTÄNEET SEURANTANUMERON."),
        ("de", "WIR HABEN IHNEN DIE NUMMER SCHON GESCHICKT."),
    ]:
        result = check(text, lang)
        assert any(v.rule == "neutral.hostile.shouting" for v in result.violations), lang
    assert check("Please DM us your order ID, we'll check with UPS.", "en").passed


def test_passed_is_false_exactly_when_a_violation_blocks() -> None:
    warn_only = check("Please check our FAQ.", "en")
    assert warn_only.passed and warn_only.violations
    assert all(v.severity == "warn" for v in warn_only.violations)
    blocked = check("Calm down.", "en")
    assert not blocked.passed and any(v.severity == "block" for v in blocked.violations)


def test_repair_removes_whole_sentences_and_never_mangles() -> None:
    text = "Please calm down now. Your order ships today. Thanks for waiting!"
    fixed, result = repair_text(text, "en")
    assert result.passed
    assert fixed == "Your order ships today. Thanks for waiting!"


def test_repair_turns_shouting_into_sentence_case() -> None:
    fixed, result = repair_text(
        "I HAVE ALREADY SENT YOU THE LABEL. Let me know if it arrives.", "en"
    )
    assert result.passed
    assert fixed == "I have already sent you the label. Let me know if it arrives."
    fixed, _ = repair_text("İADENİZ BUGÜN İŞLEME ALINDI, TEŞEKKÜRLER.", "tr")
    assert fixed.startswith("İadeniz bugün işleme alındı")


def test_repair_of_text_that_is_all_violation_comes_back_empty_and_says_so() -> None:
    fixed, result = repair_text("Calm down.", "en")
    assert fixed == ""
    assert result.passed


def test_repair_leaves_warnings_alone() -> None:
    findings = RULES.check("Please check our FAQ.", "en")
    assert findings and repair("Please check our FAQ.", findings, "en") == "Please check our FAQ."


def test_fast_fold_agrees_with_the_offset_mapping_fold() -> None:
    from rules.normalize import _fold_slow

    rng = random.Random(3)
    alphabet = "aİıIŞşȘșŢţȚțÄäÖöß’‘“”„«»–—\xa0 ΩωЖж ĂâÎăéèçñüÅå calm"
    for _ in range(1000):
        text = "".join(rng.choice(alphabet) for _ in range(40))
        fast, slow = fold(text), _fold_slow(text)
        assert fast.folded == slow.folded, text
        assert len(fast.folded) == len(text)


QUOTE_STYLES = [
    ("en", 'You wrote "{}" in your message.', "calm down"),
    ("en", "You wrote ‘{}’ in your message.", "calm down"),
    ("en", "You wrote '{}' in your message.", "calm down"),
    ("en", "You wrote “{}” in your message.", "calm down"),
    ("fi", "Kirjoititte ”{}” viestissänne, ja ymmärrän sen.", "rauhoitu nyt"),
    ("fi", "Kirjoititte ’{}’ viestissänne.", "rauhoitu nyt"),
    ("fi", "Kirjoititte »{}» viestissänne.", "rauhoitu nyt"),
    ("de", "Sie schrieben „{}“ im Chat.", "Beruhigen Sie sich"),
    ("de", 'Sie schrieben „{}" im Chat.', "Beruhigen Sie sich"),
    ("de", "Sie schrieben »{}« im Chat.", "Beruhigen Sie sich"),
    ("de", "Sie schrieben ‚{}‘ im Chat.", "Beruhigen Sie sich"),
    ("fr", "Vous avez écrit « {} » et je comprends.", "calmez-vous"),
    ("fr", "Vous avez écrit ‹ {} › et je comprends.", "calmez-vous"),
    ("ro", "Ați scris „{}” în mesaj.", "calmați-vă"),
    ("tr", "Mesajınızda «{}» yazmışsınız.", "sakin olun"),
]


@pytest.mark.parametrize(("language", "frame", "phrase"), QUOTE_STYLES)
def test_quoted_words_are_not_the_agents_in_every_quote_style(
    language: str, frame: str, phrase: str
) -> None:
    quoted = frame.format(phrase)
    assert check(quoted, language).passed, quoted
    # the same words unquoted are the agent's own, to the rules (the learned layer may
    # read "You wrote calm down and I understand" as the report it is, and doubt the block)
    bare = frame.format(phrase)
    for mark in "\"“”„«»‹›‚‘’'":
        bare = bare.replace(mark, "")
    assert not check(bare, language, detectors=["rules"]).passed, bare


@pytest.mark.parametrize(
    ("language", "text"),
    [
        # a match that starts in the agent's words and ends in the customer's (seen in the
        # seventeenth blind batch: rule matches across the opening quotation mark)
        ("de", "Du hattest geschrieben „zum dritten Mal nicht geräumt“. Stimmt leider."),
        ("en", "You asked whether we can 'guarantee it arrives by Friday'. No courier can."),
        # decomposed input (combining marks): folded offsets differ from the input's
        ("de", "Du hattest geschrieben „zum dritten Mal nicht gera\u0308umt“. Stimmt leider."),
    ],
)
def test_a_match_reaching_into_a_quotation_is_not_the_agents(language: str, text: str) -> None:
    assert check(text, language, detectors=["rules"]).passed, text
    unquoted = text.replace("„", "").replace("“", "").replace("'", "")
    assert not check(unquoted, language, detectors=["rules"]).passed, unquoted


def test_a_short_quotation_inside_a_match_is_read_as_the_agents_words() -> None:
    # scare quotes: the agent's own sarcasm, not the customer's words
    text = "Ihr Telefon ist nicht „einfach so“ aus der Tasche gefallen, es wurde gestohlen."
    assert [v.category.value for v in check(text, "de", detectors=["rules"]).violations] == [
        "blame"
    ]


def test_a_pattern_that_frames_a_quotation_still_finds_it() -> None:
    result = check("Which part of 'no returns' is confusing you?", "en", detectors=["rules"])
    assert not result.passed
    # the frame's own words are reported, quotation included
    assert [(v.category.value, v.text) for v in result.violations] == [
        ("hostile", "Which part of 'no returns' is confusing")
    ]


def test_text_between_two_quotations_is_still_checked() -> None:
    assert not check("« Bonjour » dit-il. Calmez-vous. « Merci »", "fr").passed
    assert not check("„Hallo“, sagte er. Beruhigen Sie sich. „Danke“", "de").passed
    assert not check("It’s late, so calm down and we’ll see.", "en").passed
    assert not check("”Hei” kirjoititte. Rauhoitu nyt. ”Kiitos”", "fi").passed


@pytest.mark.parametrize(
    ("text", "shouted"),
    [
        ("I have ALREADY explained how the refund works.", ["ALREADY"]),
        ("Sakin olun, bunu ZATEN yazdım, LÜTFEN okuyun.", ["ZATEN", "LÜTFEN"]),
        ("Send the IBAN, the PDF and your WLAN name.", []),  # ignored, or too few vowels
        ("Your reference is QXRTZB.", []),  # a code
        ("Press “CONFIRM” at the bottom.", []),  # quoted
        ("McDONALD's order is ready.", []),  # capitals inside a mixed-case word
        ("I ALREADY TOLD YOU THIS TWICE.", []),  # the whole sentence: the sentence rule's
    ],
)
def test_a_word_in_capitals_is_a_hostile_warning(text: str, shouted: list[str]) -> None:
    found = [v for v in check(text, "tr" if "olun" in text else "en").violations]
    words = [v for v in found if v.rule == "neutral.hostile.shouted-word"]
    assert [v.text for v in words] == shouted
    assert all(v.severity.value == "warn" and v.category == "hostile" for v in words)
    assert all(text[v.start : v.end] == v.text for v in words)
    if shouted:
        assert words[0].suggestion == shouted[0].lower()


def test_stripping_marks_with_replace_equals_the_regex_substitution() -> None:
    """The fast fold removes the marks NFD adds one mark at a time; it must give exactly
    what removing every combining mark with a regex gives, on every corpus line and on
    text with rare marks, non-Latin letters and symbols."""
    import random
    import unicodedata

    from evals.corpus import load_corpus
    from rules.normalize import _COMBINING_RUN, _strip_marks

    texts = [line.text for line in load_corpus()]
    rng = random.Random(7)
    alphabet = "aeiouAEIOU ăâîșțşţ äöüß éèêëç ñ ãõ ıİğ ǎǒ ȧ ṡ ō ǖ ѐ ё € „“ 😀 ĳ ǆ ﬁ Å"
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 80))) for _ in range(3000)]
    for text in texts:
        nfd = unicodedata.normalize("NFD", text)
        assert _strip_marks(nfd, len(text)) == _COMBINING_RUN.sub("", nfd), text


def test_exception_shortcuts_give_the_same_findings() -> None:
    """Three shortcuts skip most of an exception's scan: ``[^.!?]*X`` exceptions are matched
    only where a sentence run starts (3x on Turkish near-miss text), ``(?:^|(?<=[.!?;]))X``
    ones only at sentence starts, and one that does not begin with a literal is skipped
    when its window holds none of its required literals (Romanian prose ~260 -> ~175 us).
    Every finding must be the same as scanning every position of every exception's window.
    Checked on the examples of every rule with such an exception, one by one and glued into
    one paragraph (so runs start mid-window too)."""
    import rules.engine as engine
    from rules import RuleSet

    def build(flag: bool) -> RuleSet:
        engine.RUN_START_EXCEPTIONS = flag
        try:
            rs = load_rules()
            for language in rs.language_codes:
                rs.check("warm up.", language)  # indexes are built with the flag set
            return rs
        finally:
            engine.RUN_START_EXCEPTIONS = True

    fast, slow = build(True), build(False)
    texts: list[tuple[str, str]] = []
    kinds = {"run": 0, "start": 0, "gate": 0}
    for rule in fast.rules:
        shortcuts = [
            "run" if x.pattern.startswith("[^.!?]*")
            else "start" if x.pattern.startswith("(?:^|(?<=[.!?;]))")
            else "gate" if engine._Exception(x.finditer, 0, None, x.pattern).gate()
            else None
            for x in rule.exceptions
        ]  # fmt: skip
        if not any(shortcuts):
            continue
        for kind in set(shortcuts) - {None}:
            kinds[str(kind)] += 1
        language = rule.language if rule.language != "neutral" else "en"
        examples = [*rule.spec.examples.flag, *rule.spec.examples.pass_]
        if {"run", "start"} & set(shortcuts):
            texts += [(language, e) for e in examples]
        texts.append((language, " ".join(examples)))  # the gate only needs its windows
    assert len(texts) > 1000 and kinds["run"] >= 10 and kinds["start"] >= 5, kinds
    for language, text in texts:
        a = [(f.rule.id, f.start, f.end, f.severity) for f in fast.check(text, language)]
        b = [(f.rule.id, f.start, f.end, f.severity) for f in slow.check(text, language)]
        assert a == b, (language, text)


# A policy stated together with an alternative the agent offers (issue 12), written
# for this test (the packs' soften examples use other situations), and the same policy
# with nothing offered, which stays a policy_shield finding.
ALTERNATIVE = [
    ("de", "Nach unseren Regeln dürfen Kinder unter 14 nicht allein in die Sauna. "
     "Ihre Tochter kann aber gratis ins Familienbad nebenan."),
    ("de", "Große Taschen sind laut Hausordnung im Lesesaal nicht erlaubt. "
     "Wir geben Ihnen kostenlos einen Spind am Eingang."),
    ("fr", "Le règlement interdit les grands sacs dans la salle de lecture. "
     "Nous vous prêtons gratuitement un casier à l'entrée."),
    ("fr", "Selon nos règles, les moins de 14 ans ne peuvent pas aller seuls au sauna. "
     "Votre fille peut profiter gratuitement de l'espace famille à côté."),
    ("es", "Según el reglamento, no se permiten bolsos grandes en la sala de lectura. "
     "Le dejamos gratis una taquilla en la entrada."),
    ("es", "Por normativa, los menores de 14 años no pueden entrar solos a la sauna. "
     "Su hija puede usar gratis la piscina familiar de al lado."),
    ("pt", "Pelas regras da casa, não são permitidas malas grandes na sala de leitura. "
     "Damos-lhe um cacifo grátis à entrada."),
    ("pt", "O regulamento não deixa menores de 14 anos entrar sozinhos na sauna. "
     "A sua filha pode usar de graça a piscina familiar ao lado."),
    ("ro", "Conform regulamentului, gențile mari nu sunt permise în sala de lectură. "
     "Vă dăm gratuit un dulăpior la intrare."),
    ("ro", "Regulile nu permit copiilor sub 14 ani să intre singuri în saună. "
     "Fiica dumneavoastră poate folosi gratuit piscina pentru familii de alături."),
    ("tr", "Kurallarımız gereği okuma salonuna büyük çanta alınmıyor. "
     "Girişte size ücretsiz bir dolap veriyoruz."),
    ("tr", "Kurallara göre 14 yaş altı çocuklar saunaya tek başına giremiyor. "
     "Kızınız yandaki aile havuzunu ücretsiz kullanabilir."),
    # ... or a paid one: something to rent there
    ("de", "Eigene Ski sind in der Skihalle laut Hausordnung nicht erlaubt. "
     "Am Schalter können Sie Ski für zehn Euro am Tag mieten."),
    ("fr", "Le règlement n'autorise pas les skis personnels sur la piste couverte. "
     "Vous pouvez louer des skis au comptoir pour dix euros la journée."),
    ("es", "Por normativa no se pueden usar esquís propios en la pista cubierta. "
     "En el mostrador tiene esquís de alquiler por diez euros al día."),
    ("pt", "Pelas regras da casa, não é permitido usar esquis próprios na pista coberta. "
     "No balcão pode alugar esquis por dez euros por dia."),
    ("ro", "Conform regulamentului, nu se pot folosi schiuri proprii pe pârtia acoperită. "
     "La ghișeu puteți închiria schiuri cu zece lei pe zi."),
    ("tr", "Kurallarımız gereği kapalı pistte kendi kayağınızı kullanamıyorsunuz. "
     "Gişeden günlüğü on liraya kayak kiralayabilirsiniz."),
]  # fmt: skip
POLICY_ALONE = {
    "de": "Große Taschen sind laut Hausordnung im Lesesaal nicht erlaubt, Regel ist Regel.",
    "fr": "Le règlement interdit les grands sacs dans la salle de lecture, c'est comme ça.",
    "es": "Según el reglamento, no se permiten bolsos grandes en la sala de lectura, "
    "las normas son las normas.",
    "pt": "Pelas regras da casa, não são permitidas malas grandes na sala de leitura, "
    "é o procedimento.",
    "ro": "Conform regulamentului, gențile mari nu sunt permise în sala de lectură, asta e regula.",
    "tr": "Kurallarımız gereği okuma salonuna büyük çanta alınmıyor, kural bu.",
}


@pytest.mark.parametrize(("language", "text"), ALTERNATIVE)
def test_a_policy_stated_with_an_alternative_is_no_policy_shield_finding(
    language: str, text: str
) -> None:
    found = RULES.check(text, language, categories={Category.POLICY_SHIELD})
    assert not found, [(f.rule.id, text[f.start : f.end]) for f in found]
    alone = RULES.check(POLICY_ALONE[language], language, categories={Category.POLICY_SHIELD})
    assert any(f.blocking for f in alone), POLICY_ALONE[language]


@pytest.mark.parametrize(
    ("pattern", "shortcut"),
    [
        (r"[^.!?]*\b(?:i|we)\W+(?:sent|fixed)\b", True),
        (r"[^.!?]*\bsent\b[\W_]{1,4}it", True),  # \W between words: still one sentence
        (r"[^.!?]*(?:[.!?]+\s*[^.!?]*)?\b(?:sent|fixed)\b", False),  # the next sentence too
        (r"[^.!?]*\bat \d{1,2}[:.]\d{2}", False),  # "10.30" is no sentence end
        (r"[^.!?]*\bsent\b|fixed", False),  # a top-level alternation
    ],
)
def test_only_a_sentence_wide_exception_takes_the_run_start_shortcut(
    pattern: str, shortcut: bool
) -> None:
    import rules.engine as engine

    assert engine._led_by(re.compile(pattern), engine._RUN_PREFIX) is shortcut


def test_an_exception_that_looks_a_sentence_ahead_sees_the_next_sentence() -> None:
    """The Finnish 'all the other customers manage' blame passes when the agent's own step
    follows, in its sentence or the next (the exception names the sentence stop itself)."""
    rule = "fi.blame.kaikki-muut-osaavat"
    alone = "Muut vieraat ovat kyllä pärjänneet saunan kanssa hyvin."
    helped = alone + " Voin käydä asetukset kanssasi läpi puhelimessa."
    assert rule in {f.rule.id for f in load_rules().check(alone, "fi")}
    assert rule not in {f.rule.id for f in load_rules().check(helped, "fi")}


@pytest.mark.parametrize(
    ("regex", "loose"),
    [
        (r"calm[\W_]{1,4}down", False),  # CPython's scan skips ahead to "calm" itself
        (r"(?:calm[\W_]{1,4}down)(?!\w)", False),  # how compile_pattern wraps it
        (r"(?<!\w)/s", True),  # a look-behind first: no skip-ahead, every position tried
        (r"\bcalm[\W_]{1,4}down", True),
        (r"(?:so[\W_]{1,4})?viel[\W_]{1,4}los", True),  # a match may start before "viel"
        (r"(?:viel|so[\W_]{1,4}viel)[\W_]{1,4}los", True),  # a branch first, not a literal
        (r"(?:calm|relax)[\W_]{1,4}down", True),  # anchored on "down", after the start
    ],
)
def test_a_pattern_is_searched_around_its_anchors_unless_it_starts_with_one(
    regex: str, loose: bool
) -> None:
    """The anchor plan says whether a match starts with its anchor literal; only then is
    the regex's own scan left to find it. Either way the windows hold every match."""
    import rules.engine as engine
    from rules.prefilter import plan, plan_windows

    found = plan(regex)
    assert engine._starts_loose(found) is loose, found
    text = "so viel los hier, calm down please /s and relax down"
    pattern = re.compile(regex)
    windows = plan_windows(found, text)
    for m in pattern.finditer(text):
        assert any(lo <= m.start() and m.end() <= hi for lo, hi in windows), (m, windows)
