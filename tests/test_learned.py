"""The learned layer (rules/learned.py, coach/learned_layer.py, evals/train.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from coach.checker import check
from coach.schemas import Context
from rules import Category
from rules.learned import (
    BITS,
    CATEGORIES,
    MODEL_PATH,
    hashed_ngrams,
    load_model,
    sentence_features,
)

# Lines written for these tests (not from the corpus): each reads plainly as its category.
STRONG = {
    "runaround": "You need to contact the courier yourself about that.",
    "dismissive": "Honestly it is not worth getting so worked up about, these things happen.",
}


def test_the_weights_are_plain_arrays_never_a_pickle() -> None:
    with zipfile.ZipFile(MODEL_PATH) as archive:
        names = set(archive.namelist())
    assert {"rows.npy", "values.npy", "bias.npy", "warn.npy", "block.npy"} <= names
    with np.load(MODEL_PATH, allow_pickle=False) as data:  # raises on any object array
        for name in data.files:
            assert data[name].dtype != object, name
        assert int(data["bits"]) == BITS
        assert list(data["categories"]) == [c.value for c in CATEGORIES]
        assert data["warn"].shape == data["block"].shape == (len(data["languages"]), 9)


def test_features_are_the_same_in_every_process() -> None:
    buckets, owners = hashed_ngrams(["Calm down.", "Thanks!"])
    code = (
        "from rules.learned import hashed_ngrams; b, o = hashed_ngrams(['Calm down.', 'Thanks!']);"
        "print(b.tolist() == b.tolist() and (b.sum(), o.sum()))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == str((buckets.sum(), owners.sum()))


def test_ngrams_stay_inside_their_sentence_and_rows_are_unit_length() -> None:
    one, _ = hashed_ngrams(["abc"])
    two, owners = hashed_ngrams(["abc", "abc"])
    # " abc " has 4 + 3 + 2 + 1 n-grams of 2..5; the second copy adds the same, none across
    assert len(one) == 10 and len(two) == 20
    assert sorted(two[owners == 0]) == sorted(two[owners == 1]) == sorted(one)
    rows, _, values = sentence_features(["A short one.", "Another, longer sentence here."])
    for r in (0, 1):
        assert abs(float(np.sum(values[rows == r] ** 2)) - 1.0) < 1e-5
    assert all(0 <= c < 2**BITS for c in sentence_features(["x y z"])[1])


def test_ngrams_come_in_text_order_and_scores_match_the_training_matrix() -> None:
    """Scoring sums each occurrence's weight row (no sort); training builds a sparse matrix,
    which adds up repeats: both must give the same score, repeats included."""
    from evals.train import _matrix
    from rules.learned import probabilities

    sentences = ["ha ha ha ha ha, nope nope.", "Please contact the courier about that.", "ok"]
    _, owners = hashed_ngrams(sentences)
    assert np.all(np.diff(owners) >= 0) and set(owners.tolist()) == {0, 1, 2}
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(1 << BITS, len(CATEGORIES))).astype(np.float32)
    bias = rng.normal(size=len(CATEGORIES)).astype(np.float32)
    scored = probabilities(weights, bias, sentences)
    matrix = _matrix(sentences)  # one row per text, repeats summed
    assert matrix[0].max() > matrix[0].data.min() * 1.5  # "ha " repeats: a count above 1
    expected = 1.0 / (1.0 + np.exp(-(matrix @ weights.astype(np.float64) + bias)))
    assert np.allclose(scored, expected, atol=1e-5)
    assert np.allclose(probabilities(weights, bias, []), np.zeros((0, len(CATEGORIES))))


def test_model_findings_are_sentences_marked_as_statistical() -> None:
    text = "Thanks for writing in. " + STRONG["runaround"] + " I have reset the password."
    result = check(text, "en", detectors=["model"])
    found = [v for v in result.violations if v.category == "runaround"]
    assert found, result.violations
    v = found[0]
    assert v.source == "model" and v.rule == "en.runaround.model"
    assert v.text == text[v.start : v.end] == STRONG["runaround"]
    assert "statistical" in v.message and "score" in v.message
    assert v.severity in ("warn", "block")
    assert all(x.source == "model" for x in result.violations)


def test_detectors_can_be_switched_and_rules_win_overlaps() -> None:
    text = STRONG["dismissive"]  # the rules and the model both see it
    rules_only = check(text, "en", detectors=["rules"])
    model_only = check(text, "en", detectors=["model"])
    assert {v.source for v in rules_only.violations} == {"rule"}
    assert {v.source for v in model_only.violations} == {"model"}
    assert "dismissive" in {v.category for v in rules_only.violations}
    assert "dismissive" in {v.category for v in model_only.violations}
    both = check(text, "en", detectors=["rules", "model"])
    # no model finding repeats a category a rule already reports in the same sentence
    assert not [v for v in both.violations if v.source == "model" and v.category == "dismissive"]
    assert [v for v in both.violations if v.source == "rule"] == rules_only.violations


def test_quoted_words_are_not_scored() -> None:
    for quoted in (f'"{STRONG["runaround"]}"', f"“{STRONG['runaround']}”"):
        text = f"The customer wrote: {quoted} We replied within the hour."
        assert not check(text, "en", detectors=["model"]).violations
    said = f"{STRONG['runaround']} We replied within the hour."
    assert check(said, "en", detectors=["model"]).violations


def test_the_setting_picks_the_detectors(monkeypatch: pytest.MonkeyPatch) -> None:
    from coach.settings import CoachSettings

    monkeypatch.setenv("COACH_DETECTORS", "rules")
    assert CoachSettings().detectors == ["rules"]
    monkeypatch.setenv("COACH_DETECTORS", "rules, model")
    assert CoachSettings().detectors == ["rules", "model"]
    monkeypatch.setenv("COACH_DETECTORS", "regex")
    with pytest.raises(ValueError, match="detectors"):
        CoachSettings()
    env = {**os.environ, "COACH_DETECTORS": "rules"}
    out = subprocess.run(
        [sys.executable, "-m", "coach.cli", "check", "--json", "--lang", "en", STRONG["runaround"]],
        capture_output=True,
        text=True,
        env=env,
    )
    assert '"source": "model"' not in out.stdout
    env["COACH_DETECTORS"] = "model"
    out = subprocess.run(
        [sys.executable, "-m", "coach.cli", "check", "--json", "--lang", "en", STRONG["runaround"]],
        capture_output=True,
        text=True,
        env=env,
    )
    assert '"source": "model"' in out.stdout


def test_the_model_never_blocks_a_commitment_or_a_hand_over_and_defers_to_allowed_ones() -> None:
    from evals.train import ADVICE_ONLY

    model = load_model()
    assert model is not None
    assert {Category.OVER_PROMISE, Category.RUNAROUND} <= ADVICE_ONLY
    for category in ADVICE_ONLY:  # a hand-over or a commitment: the fault lies outside it
        assert (model.block[:, CATEGORIES.index(category)] > 1).all(), category  # never
    text = "I guarantee a full refund today and it will never happen again, I promise."
    assert any(
        v.category == "over_promise" for v in check(text, "en", detectors=["model"]).violations
    )
    allowed = Context(allowed_commitments=["refund"])
    found = check(text, "en", allowed, detectors=["model"]).violations
    assert not [v for v in found if v.category == "over_promise"]


def test_the_shipped_thresholds_keep_each_languages_floor() -> None:
    """Warnings start at the language's floor (English higher, for its real replies) and a
    statistical block never starts below MIN_BLOCK, however low the warning floor is."""
    from evals.train import MIN_BLOCK, min_warn

    model = load_model()
    assert model is not None
    for i, language in enumerate(model.languages):
        assert (model.warn[i] >= np.float32(min_warn(language))).all(), language
        assert (model.block[i] >= np.float32(MIN_BLOCK)).all(), language
    assert min_warn("en") > min_warn("fi")


def test_a_language_without_weights_gets_no_model_findings() -> None:
    model = load_model()
    assert model is not None and model.thresholds("xx") is None
    assert set(model.languages) == {"de", "en", "es", "fi", "fr", "ms", "pt", "ro", "tr"}


def test_retraining_reproduces_the_committed_weights() -> None:
    """make train is deterministic: the same data give the same arrays (final fit only)."""
    from evals.train import data_hash, dev_samples, fit_final, training_samples

    samples = training_samples()
    with np.load(MODEL_PATH, allow_pickle=False) as data:
        assert str(data["data_hash"]) == data_hash(samples + dev_samples()), "run make train"
        rows, values, bias = fit_final(samples)
        assert np.array_equal(rows, data["rows"])
        assert np.allclose(values.astype(np.float32), data["values"].astype(np.float32), atol=2e-3)
        assert np.allclose(bias, data["bias"], atol=1e-4)


# Rule blocks in several languages; with the shipped weights some are read as fine.
BLOCKED = [
    ("That is just our policy and rules are rules, nothing more to say.", "en"),
    ("Please calm down.", "en"),  # too short to score: the rule decides alone
    ("Beruhigen Sie sich bitte, das ist kein Weltuntergang.", "de"),
    ("Nu este departamentul meu, dar am trimis cererea la facturare și vă sună azi.", "ro"),
    ("I guarantee it will never happen again, you have my word on that.", "en"),
    ("Vous auriez dû lire les conditions avant de réserver, c'est écrit en gras.", "fr"),
    ("Sakin olun lütfen, bu kadar büyütecek bir şey yok ortada.", "tr"),
    # a safety rule stated with a paid alternative: blocked by a helpless rule, read as fine
    (
        "Nu vă pot lăsa pe gheață fără cască, e regula patinoarului. "
        "La recepție închiriem căști cu doi lei.",
        "ro",
    ),
]


def test_a_rule_block_the_model_reads_as_fine_is_kept_as_a_warning() -> None:
    """With the learned layer on, a rule's block survives unless its category scores below
    DOUBT on every scored sentence it touches; then it is the same finding, as a warning
    that says why. Nothing else about the rules' findings changes."""
    from coach.learned_layer import DOUBT, scored

    kept = doubted = 0
    for text, language in BLOCKED:
        rules = check(text, language, detectors=["rules"]).violations
        both = [v for v in check(text, language).violations if v.source == "rule"]
        assert [(v.rule, v.start, v.end) for v in both] == [(v.rule, v.start, v.end) for v in rules]
        scores = scored(text, language)
        assert scores is not None
        for alone, beside in zip(rules, both, strict=True):
            if alone.severity != "block":
                assert beside == alone
                continue
            score = scores.around(alone.start, alone.end, alone.category)
            if score is not None and score < DOUBT:
                doubted += 1
                assert beside.severity == "warn", (text, beside)
                assert beside.message.startswith(alone.message)
                assert "learned layer reads this sentence as fine" in beside.message
                assert f"score {score:.2f}" in beside.message
            else:
                kept += 1
                assert beside == alone
    assert kept and doubted, (kept, doubted)


def test_the_doubt_spares_commitments_short_sentences_and_the_services_own_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a limit no score reaches, every rule block the model can read is doubted,
    except a commitment outside the allowed list, a sentence too short to score, and a text
    the service wrote (strict commitments); and the rules alone never doubt."""
    import coach.learned_layer as layer

    monkeypatch.setattr(layer, "DOUBT", 1.01)
    text = "That is just our policy and rules are rules, nothing more to say."
    assert not check(text, "en", detectors=["rules"]).passed
    assert check(text, "en").passed
    assert all(v.severity == "warn" for v in check(text, "en").violations)
    assert not check(text, "en", strict_commitments=True).passed  # the service's own words
    assert not check("Please calm down.", "en").passed  # too short to score
    promise = "I will refund the full amount to your card today, as you asked."
    no_refunds = Context(allowed_commitments=["callback"])
    blocked = [v for v in check(promise, "en", no_refunds).violations if v.severity == "block"]
    assert [v.rule for v in blocked] == ["en.over_promise.refund"], blocked
    assert check(promise, "en", Context(allowed_commitments=["refund"])).passed
    monkeypatch.setattr(layer, "DOUBT", 0.0)
    assert not check(text, "en").passed  # no score is below zero: nothing is doubted
