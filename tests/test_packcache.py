"""The pack cache: a one-off check reads the regex sources and anchor plans a previous
process worked out, compiles only what the prefilter names, and finds the same."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rules import load_rules, packcache
from rules.pattern import LazyRegex, compiled

TEXTS = {
    "de": "Guten Tag! Beruhigen Sie sich bitte, das ist nicht unsere Richtlinie. Ich habe "
    "die Bestellung 4411 geprüft und die Gutschrift heute veranlasst.",
    "fi": "Rauhoittukaa nyt, asia ei ole minun käsissäni. Tilaus 5521 on lähetetty tänään.",
    "en": "Calm down, that's not our policy. I guarantee this will never happen again.",
    "ms": "Tak perlu marah-marah, encik. Itu di luar kawalan saya.",
}


def findings(rules: object, language: str, text: str) -> list[tuple[str, int, int, bool]]:
    return [
        (f.rule.id, f.start, f.end, f.blocking)
        for f in rules.check(text, language)  # type: ignore[attr-defined]
    ]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("COACH_CACHE_DIR", str(folder))
    return folder


@pytest.mark.parametrize("language", sorted(TEXTS))
def test_a_second_process_reads_the_cache_and_finds_the_same(cache: Path, language: str) -> None:
    first = load_rules()
    expected = findings(first, language, TEXTS[language])
    assert expected  # each text breaks rules
    assert any(p.name.startswith(f"sources-{language}-") for p in cache.iterdir())
    assert any(p.name.startswith("plans-") for p in cache.iterdir())
    assert not isinstance(first.rules_for(language)[0].patterns[0], LazyRegex)

    second = load_rules()
    rules = second.rules_for(language)
    assert all(isinstance(p, LazyRegex) for r in rules for p in r.patterns)
    assert findings(second, language, TEXTS[language]) == expected
    # Only the regexes the prefilter named were compiled.
    done = sum(p._compiled is not None for r in rules for p in r.patterns)  # type: ignore[union-attr]
    assert 0 < done < len([p for r in rules for p in r.patterns]) // 10


def test_every_cached_source_compiles_to_what_the_pack_compiles(cache: Path) -> None:
    fresh = {r.id: r for r in load_rules().rules}
    cached = load_rules().rules
    assert {r.id for r in cached} == fresh.keys()
    for rule in cached:
        assert [p.pattern for p in rule.patterns] == [p.pattern for p in fresh[rule.id].patterns]
        assert rule.exception_reach == fresh[rule.id].exception_reach
        for p in (*rule.patterns, *rule.exceptions, *rule.softeners):
            assert compiled(p).match("") is None


def test_a_changed_pack_is_not_read_from_a_stale_file(cache: Path, tmp_path: Path) -> None:
    pack = Path(packcache.__file__).parent / "packs" / "en" / "dismissive.yaml"
    before = packcache.digest([pack])
    copy = tmp_path / "dismissive.yaml"
    shutil.copy(pack, copy)
    assert packcache.digest([copy]) == before
    copy.write_text(copy.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    assert packcache.digest([copy]) != before


def test_a_corrupt_or_unwritable_cache_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("COACH_CACHE_DIR", str(blocker / "cache"))
    expected = findings(load_rules(), "en", TEXTS["en"])
    assert findings(load_rules(), "en", TEXTS["en"]) == expected

    folder = tmp_path / "cache"
    monkeypatch.setenv("COACH_CACHE_DIR", str(folder))
    load_rules().check("x", "en")
    for path in folder.iterdir():
        path.write_text("{not json", encoding="utf-8")
    assert findings(load_rules(), "en", TEXTS["en"]) == expected
    monkeypatch.setenv("COACH_CACHE_DIR", "off")
    assert packcache.cache_dir() is None
    assert findings(load_rules(), "en", TEXTS["en"]) == expected


def test_the_cli_writes_the_cache_once_and_reads_it_after(cache: Path) -> None:
    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "coach.cli", "check", "--lang", "fi", "--json", TEXTS["fi"]],
            capture_output=True,
            text=True,
            timeout=120,
        )

    first = run()
    files = sorted(p.name for p in cache.iterdir())
    assert any(name.startswith("sources-fi-") for name in files)
    second = run()
    assert sorted(p.name for p in cache.iterdir()) == files
    assert first.returncode == second.returncode == 1
    assert first.stdout == second.stdout
