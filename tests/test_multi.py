"""The three ways the engine picks candidate patterns find exactly the same.

A language's first checks search every pattern; then one RE2 pass names the
patterns that may match (rules/multi.py); without RE2, or when RE2 gives no
answer, the Aho-Corasick prefilter does. Each only narrows which patterns run,
so the findings must be identical: checked here on every corpus line, every
rule example and the 500 real replies.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator

import pytest

from evals.corpus import load_corpus
from evals.datasets import TWITTER_CUSTOMER_CARE
from rules import RuleSet, engine, load_rules
from rules.multi import PatternSet, loosen
from rules.pattern import LazyRegex

Signature = list[tuple[str, int, int, bool]]


def _texts(rules: RuleSet) -> Iterator[tuple[str, str]]:
    for line in load_corpus():
        yield line.text, line.language
    for item in json.loads(TWITTER_CUSTOMER_CARE.read_text(encoding="utf-8")):
        yield item["agentURL"]["url_utterance"], "en"
    for rule in rules.rules:
        for text in (*rule.spec.examples.flag, *rule.spec.examples.pass_):
            yield text, rule.language if rule.language != "neutral" else "en"


def _signature(rules: RuleSet, text: str, language: str) -> Signature:
    return [(f.rule.id, f.start, f.end, f.softened) for f in rules.check(text, language)]


@pytest.fixture(scope="module")
def three_ways() -> Iterator[tuple[RuleSet, RuleSet, RuleSet, RuleSet]]:
    """(every pattern, RE2 candidates, Aho-Corasick candidates, a one-off check's way:
    the prefilter over regexes compiled on first use from the pack cache)."""
    saved = engine.USE_RE2, engine.EAGER_AFTER
    cache = os.environ.get("COACH_CACHE_DIR")
    try:
        engine.EAGER_AFTER = 10**9
        os.environ["COACH_CACHE_DIR"] = "off"  # else a first check uses the prefilter
        brute = load_rules()
        if cache is None:
            del os.environ["COACH_CACHE_DIR"]
        else:
            os.environ["COACH_CACHE_DIR"] = cache
        load_rules().compile_all()  # the pack cache now holds every language
        cold = load_rules()  # a one-off check's way: cached sources and plans, lazy regexes
        engine.EAGER_AFTER = 0
        engine.USE_RE2 = True
        with_re2 = load_rules()
        engine.USE_RE2 = False
        aho = load_rules()
        yield brute, with_re2, aho, cold
    finally:
        engine.USE_RE2, engine.EAGER_AFTER = saved


def test_every_way_of_choosing_candidates_finds_the_same(
    three_ways: tuple[RuleSet, RuleSet, RuleSet, RuleSet],
) -> None:
    brute, with_re2, aho, cold = three_ways
    checked = found = 0
    for text, language in _texts(brute):
        expected = _signature(brute, text, language)
        assert _signature(with_re2, text, language) == expected, (language, text)
        assert _signature(aho, text, language) == expected, (language, text)
        assert _signature(cold, text, language) == expected, (language, text)
        checked += 1
        found += bool(expected)
    assert checked > 10_000 and found > 5_000
    # The indexes were really used (not the first-checks path that tries every pattern).
    assert with_re2._index_for("en").multi is not None
    assert aho._index_for("en").multi is None
    assert cold._index_for("en")._multi is engine._UNBUILT
    assert all(isinstance(p, LazyRegex) for p in cold._index_for("fi").patterns)


def test_re2_names_few_candidates_and_a_failed_answer_falls_back(
    three_ways: tuple[RuleSet, RuleSet, RuleSet, RuleSet], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, with_re2, _, _ = three_ways
    text = "Thanks for waiting, the parcel left the warehouse today and arrives tomorrow."
    index = with_re2._index_for("en")
    groups = index.candidates(text.lower())
    assert sum(len(keys) for keys, _ in groups) <= 5 < len(index.patterns) // 50
    # RE2 out of memory gives no answer: the Aho-Corasick prefilter takes over.
    monkeypatch.setattr(PatternSet, "candidates", lambda self, folded: None)
    found = [f.rule.id for f in with_re2.check("Please calm down, it ships today.", "en")]
    assert found == ["en.dismissive.calm-down"]


@pytest.mark.parametrize(
    ("regex", "matches", "python_misses"),
    [
        # Look-arounds and boundaries are dropped: looser, never stricter.
        (r"(?:calm[\W_]{1,4}down)(?!\w)", "calm down", "calm downtown"),
        (r"(?<!\w)/s(?!\w)", "great job /s", "100 mbit/s"),
        # Python's \w takes letters of every script; so does the looser class.
        (r"rauhoit\w*", "rauhoittukaa", ""),
        (r"k\w+n", "kışın", ""),
        (r"[^a-z]x", "1x", ""),
        # The separator: anything but an ASCII letter or digit (non-ASCII punctuation too).
        (r"calm[\W_]{1,4}down", "calm… down", "calm\u00e9down"),
        (r"a\Sb\Dc", "a\u00e9b\u00e9c", "a\u00e9b\u0663c"),
        (r"a\sb\d", "a\u00a0b\u0663", ""),
    ],
)
def test_the_re2_pattern_matches_wherever_python_does(
    regex: str, matches: str, python_misses: str
) -> None:
    import re2

    loose = re2.compile(loosen(regex))
    assert re.search(regex, matches) and loose.search(matches)
    if python_misses:
        assert not re.search(regex, python_misses) and loose.search(python_misses)


def test_a_back_reference_is_a_candidate_in_every_text() -> None:
    patterns = PatternSet([(r"calm down", 0), (r"(\w+) \1", 0)])
    assert patterns.always == [1]
    assert patterns.candidates("nothing here") == [1]
    assert patterns.candidates("please calm down") == [0, 1]


def test_a_language_too_large_for_re2_falls_back_to_the_prefilter(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from rules import multi

    monkeypatch.setattr(multi, "MAX_MEM", 1 << 10)  # far too little for any pack
    monkeypatch.setattr(engine, "EAGER_AFTER", 0)
    monkeypatch.setattr(engine, "USE_RE2", True)
    rules = load_rules()
    # Straight onto the logger, enabled: log configs of other tests (uvicorn's, the API's)
    # can stop "coach" propagating or disable loggers that existed before them.
    logger = logging.getLogger("coach.rules")
    monkeypatch.setattr(logger, "disabled", False)
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level("WARNING", logger="coach.rules"):
            found = [f.rule.id for f in rules.check("Please calm down, it ships today.", "en")]
    finally:
        logger.removeHandler(caplog.handler)
    assert found == ["en.dismissive.calm-down"]
    assert rules._index_for("en").multi is None
    assert any("RE2 cannot hold" in r.getMessage() for r in caplog.records)
