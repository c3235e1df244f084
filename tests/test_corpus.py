"""The blind corpus machinery: schema, fixed splits, measurement, and the guard on the test split."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from evals.corpus import (
    CorpusError,
    CorpusLine,
    load_corpus,
    measure,
    misses,
    split_of,
)
from rules import Category


def line(i: int, text: str, *categories: str, language: str = "en") -> dict[str, object]:
    return {
        "id": f"{language}-{i:04d}",
        "language": language,
        "text": text,
        "categories": list(categories),
        "register": "neutral",
        "spelling": "standard",
        "situation": "delivery",
        "tricky": False,
    }


def write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_splits_are_fixed_by_the_id_and_near_60_20_20() -> None:
    ids = [f"fi-{i:04d}" for i in range(1, 3001)]
    counts = Counter(split_of(i) for i in ids)
    assert 0.56 < counts["train"] / 3000 < 0.64
    assert 0.17 < counts["dev"] / 3000 < 0.23
    assert 0.17 < counts["test"] / 3000 < 0.23
    assert [split_of(i) for i in ids] == [split_of(i) for i in ids]
    # sha256 of the id, not Python's salted hash(): the same in every process
    code = "from evals.corpus import split_of; print(split_of('tr-0042'), split_of('de-0007'))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert other.stdout.split() == [split_of("tr-0042"), split_of("de-0007")]


def test_a_bad_line_names_file_line_and_field(tmp_path: Path) -> None:
    bad = line(1, "Calm down.", "dismissive")
    bad["categories"] = ["rude"]
    path = write(tmp_path / "en.jsonl", [line(2, "Thanks!"), bad])
    with pytest.raises(CorpusError, match=r"en\.jsonl:2: categories/0"):
        load_corpus(path)
    dup = write(tmp_path / "dup.jsonl", [line(1, "a b"), line(1, "c d")])
    with pytest.raises(CorpusError, match="duplicate id en-0001"):
        load_corpus(dup)
    tricky = line(3, "I'm sorry if you feel that way.", "false_apology")
    tricky["tricky"] = True  # a tricky line is a clean one
    with pytest.raises(CorpusError, match=r"t\.jsonl:1: categories"):
        load_corpus(write(tmp_path / "t.jsonl", [tricky]))


def test_measure_counts_recall_and_clean_findings_exactly() -> None:
    rows = [CorpusLine.model_validate(line(i, f"text {i}", "blame", "hostile")) for i in range(40)]
    rows += [CorpusLine.model_validate(line(100 + i, f"clean {i}")) for i in range(40)]

    def detector(x: CorpusLine) -> tuple[frozenset[Category], bool]:
        number = int(x.id.split("-")[1])
        if x.clean:  # every fourth clean line gets a warning, every eighth is blocked
            found = frozenset({Category.RUNAROUND}) if number % 4 == 0 else frozenset()
            return found, number % 8 == 0
        return frozenset({Category.BLAME}), True  # blame always found, hostile never

    result = measure(rows, detector, splits=("train", "dev", "test"))
    for split in ("train", "dev", "test"):
        mine = [x for x in rows if x.split == split]
        cell = result[split]["all"]
        assert cell == result[split]["en"]
        violating = sum(not x.clean for x in mine)
        clean = [x for x in mine if x.clean]
        assert cell["violating"] == violating
        assert cell["category_recall"] == (0.5 if violating else None)
        assert cell["line_recall"] == (1.0 if violating else None)
        assert cell["by_category"]["blame"]["recall"] == 1.0
        assert cell["by_category"]["hostile"]["found"] == 0
        flagged = sum(int(x.id[3:]) % 4 == 0 for x in clean)
        blocked = sum(int(x.id[3:]) % 8 == 0 for x in clean)
        assert cell["clean_flagged"] == round(flagged / len(clean), 4)
        assert cell["clean_blocked"] == round(blocked / len(clean), 4)


def test_the_test_split_is_never_shown_to_a_rule_writer() -> None:
    rows = [CorpusLine.model_validate(line(i, "Calm down.", "dismissive")) for i in range(30)]
    with pytest.raises(ValueError, match="report alone"):
        misses(rows, "test")  # type: ignore[arg-type]
    shown = misses(rows, "dev", lambda x: (frozenset(), False))
    assert shown and all(x.split == "dev" for x, _ in shown)
    assert all(why == "missed dismissive" for _, why in shown)


def test_coach_eval_corpus_writes_a_report_that_fits_80_columns(tmp_path: Path) -> None:
    rows = [line(i, "Calm down, it's no big deal.", "dismissive") for i in range(1, 30)]
    rows += [line(i, "Thanks for waiting, the refund was issued on Monday.") for i in range(30, 60)]
    rows += [
        line(i, "Bu bizim politikamız değil, kurallar böyle.", "policy_shield", language="tr")
        for i in range(1, 30)
    ]
    corpus = write(tmp_path / "corpus.jsonl", rows)
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "coach.cli",
            "eval",
            "--corpus",
            str(corpus),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert max(len(x) for x in done.stdout.splitlines()) <= 80
    assert "…" not in done.stdout
    assert "dev split" in done.stdout and "test split" in done.stdout
    assert "train split" not in done.stdout
    result = json.loads((tmp_path / "corpus.json").read_text())
    assert set(result["splits"]) == {"dev", "test"}
    for split in ("dev", "test"):
        assert result["splits"][split]["en"]["by_category"]["dismissive"]["recall"] == 1.0
        assert result["splits"][split]["en"]["clean_blocked"] == 0.0
    assert "<h2>test split</h2>" in (tmp_path / "corpus.html").read_text()
    refused = subprocess.run(
        [sys.executable, "-m", "coach.cli", "eval", "--corpus", str(corpus), "--misses", "test"],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2 and "invalid choice" in refused.stderr


def test_the_shipped_corpus_has_the_size_the_measurement_needs() -> None:
    lines = load_corpus()
    for language in ("en", "tr", "ro", "fi", "ms", "es", "de", "fr", "pt"):
        mine = [x for x in lines if x.language == language]
        violating = [x for x in mine if not x.clean]
        # four blind batches: >= 260 + 3 x 180 violating, >= 130 + 3 x 90 clean,
        # >= 50 + 3 x 45 tricky, every category in >= 26 + 3 x 22
        assert len(violating) >= 800, language
        assert sum(x.clean for x in mine) >= 400, language
        assert sum(x.tricky for x in mine) >= 185, language
        per_category = Counter(c for x in violating for c in x.categories)
        assert min(per_category[c] for c in Category) >= 92, (language, per_category)
        two = sum(len(x.categories) == 2 for x in violating) / len(violating)
        assert 0.25 <= two <= 0.45, (language, two)
        # every split holds lines of the language, clean and violating
        for split in ("train", "dev", "test"):
            part = [x for x in mine if x.split == split]
            assert sum(x.clean for x in part) >= 25 and sum(not x.clean for x in part) >= 50
        assert len({x.text for x in mine}) == len(mine), language


def test_no_rule_example_is_a_dev_or_test_line() -> None:
    """The test split measures rules on lines no rule has seen, and dev picks the learned
    layer's thresholds on lines it was not trained on (it trains on the packs' examples):
    neither split's texts may appear (case and spacing aside) among the built-in packs'
    flag, pass or soften examples. Train lines may."""
    from coach.checker import default_ruleset

    def norm(text: str) -> str:
        return " ".join(text.casefold().split())

    held_out = {norm(x.text) for x in load_corpus() if x.split in ("dev", "test")}
    examples = set()
    for rule in default_ruleset().rules:
        ex = rule.spec.examples
        examples.update(norm(t) for t in (*ex.flag, *ex.pass_, *ex.soften))
    assert len(held_out) > 6000 and len(examples) > 5000
    assert not sorted(held_out & examples)
