"""The token forms of the pattern language: <lemma>, @class, ~N gaps (rules/lexicon.py)."""

from __future__ import annotations

import json
import random
import re
import string
from pathlib import Path

import pytest
import yaml

from coach.checker import check
from rules.lexicon import LEXICON_DIR, Lexicon, load_lexicon, malay_regex, trie_regex
from rules.loader import BUILTIN_DIR, PackError, load_rules
from rules.normalize import fold_string
from rules.pattern import WORD_START, compile_pattern, hoist_word_starts, translate, word_matches

LANGUAGES = sorted(p.name for p in BUILTIN_DIR.iterdir() if p.is_dir() and p.name != "neutral")


def test_a_trie_regex_matches_exactly_its_words() -> None:
    rng = random.Random(7)
    for _ in range(300):
        words = {
            "".join(rng.choice("abcd") for _ in range(rng.randint(1, 5)))
            for _ in range(rng.randint(1, 12))
        }
        rx = re.compile(f"(?:{trie_regex(words)})\\Z")
        for candidate in {"".join(p) for p in _all_strings("abcd", 4)}:
            assert bool(rx.match(candidate)) == (candidate in words), (words, candidate)


def _all_strings(alphabet: str, up_to: int) -> list[str]:
    out = [""]
    level = [""]
    for _ in range(up_to):
        level = [w + c for w in level for c in alphabet]
        out += level
    return out


def test_shared_prefixes_keep_a_literal_start() -> None:
    assert trie_regex(["calm", "calmed", "calming", "calms"]).startswith("calm(")


def _pack(tmp_path: Path, language: str, patterns: list[str], **extra: object) -> Path:
    folder = tmp_path / "packs"
    folder.mkdir(exist_ok=True)
    body = {
        "language": language,
        "category": "dismissive",
        "source": "test",
        "rules": [
            {
                "name": "t",
                "severity": "block",
                "kind": "existence",
                "patterns": patterns,
                "message": "a test message",
                "examples": {"flag": [], "pass": []},
                **extra,
            }
        ],
    }
    (folder / "p.yaml").write_text(json.dumps(body), encoding="utf-8")
    return folder


def _found(rules_dir: Path, language: str, text: str) -> list[str]:
    rules = load_rules([rules_dir])
    return [
        v.rule for v in check(text, language, ruleset=rules).violations if v.rule.endswith(".t")
    ]


def test_a_lemma_matches_its_inflected_forms(tmp_path: Path) -> None:
    lexicon = Lexicon("en", forms={"worry": ("worried", "worries", "worrying")})
    rx = compile_pattern("no need to ~2 <worry|calm>", boundary=True, lexicon=lexicon)
    for text in [
        "no need to worry",
        "no need to be worried",
        "no need to get so worried",
        "no need for worrying",  # "for" is not "to": no match
        "no need to worrying about it",
        "no need to calm",
        "no need to be very very worried",  # three words in the gap: too many
        "no need to worriedly",  # not a form
    ]:
        assert bool(word_matches(rx, text)) == (
            text
            in {
                "no need to worry",
                "no need to be worried",
                "no need to get so worried",
                "no need to worrying about it",
                "no need to calm",
            }
        ), text


def test_word_classes_and_unknown_classes(tmp_path: Path) -> None:
    found = _found(
        _pack(tmp_path, "en", ["@you should have <read>"]), "en", "Well, you should have read it."
    )
    assert found == ["en.dismissive.t"]
    assert (
        _found(_pack(tmp_path, "en", ["@you should have <read>"]), "en", "We should have read it.")
        == []
    )
    with pytest.raises(PackError, match=r"p\.yaml:\d+: en\.dismissive\.t: unknown word class @yuo"):
        load_rules([_pack(tmp_path, "en", ["@yuo should"])])


def test_regex_syntax_that_looks_like_tokens_is_left_alone() -> None:
    lexicon = load_lexicon("en")
    for pattern in [
        r"(?<!not )calm",
        r"(?P<who>you) calm",
        r"\w{1,30}@",
        r"[\w.-]+@[\w.-]+",
        "a~b",
    ]:
        assert lexicon.expand(pattern) == pattern


def test_classes_after_optional_groups_and_gaps_expand_and_start_a_word() -> None:
    lexicon = Lexicon("ms", classes={"you": ("sis", "encik")})
    for pattern in [r"tolong (?:\w+ )?@you semak", "tolong ~1 @you semak"]:
        assert "@" not in lexicon.expand(pattern), pattern
        rx = compile_pattern(pattern, boundary=True, lexicon=lexicon)
        assert word_matches(rx, "tolong sis semak") and word_matches(rx, "tolong ya sis semak")
    # an exception is not held to word boundaries, but a class word still starts a word
    rx = compile_pattern("@you", lexicon=lexicon)
    assert rx.search("tanya sis") and not rx.search("sistem kami")
    lemma = compile_pattern("<tenang>", lexicon=Lexicon("ms", affixes="malay"))
    assert lemma.search("sila bertenang") and not lemma.search("xtenang")


def test_malay_roots_take_their_affixes(tmp_path: Path) -> None:
    rx = re.compile(f"(?:{malay_regex('tenang')})\\Z")
    for form in ["tenang", "bertenang", "tenangkan", "menenangkan", "ditenangkan", "tenanglah",
                 "ketenangan", "bertenang-tenang"]:  # fmt: skip
        assert rx.match(form), form
    assert not rx.match("tenangi x")
    rx = re.compile(f"(?:{malay_regex('pukul')})\\Z")
    assert rx.match("memukul") and rx.match("dipukul") and not rx.match("mepukulx")
    rules_dir = _pack(tmp_path, "ms", ["@not perlu <ketuk>"])  # a root no built-in rule uses
    assert _found(rules_dir, "ms", "Tak perlu ketuk-ketuk meja, encik.") == ["ms.dismissive.t"]
    assert _found(rules_dir, "ms", "Encik tidak perlu mengetuk pintu.") == ["ms.dismissive.t"]
    assert _found(rules_dir, "ms", "Encik perlu mengetuk pintu.") == []


def test_every_language_has_a_lexicon_with_the_basic_classes() -> None:
    for language in LANGUAGES:
        lexicon = load_lexicon(language)
        assert {"you", "not"} <= set(lexicon.classes), language
        for name, words in lexicon.classes.items():  # each class word compiles
            compile_pattern(f"@{name}", lexicon=lexicon)
            assert words, (language, name)


def test_every_lemma_the_packs_use_is_in_the_forms_files() -> None:
    from rules.build_lexicon import referenced_lemmas

    for language in LANGUAGES:
        data = json.loads((LEXICON_DIR / f"{language}.forms.json").read_text(encoding="utf-8"))
        missing = referenced_lemmas(language) - set(data["forms"])
        assert not missing, f"{language}: run `make lexicon` for {sorted(missing)}"


def test_the_forms_files_are_what_make_lexicon_writes() -> None:
    from rules.build_lexicon import build_forms

    for language in LANGUAGES:
        data = json.loads((LEXICON_DIR / f"{language}.forms.json").read_text(encoding="utf-8"))
        assert data == build_forms(language), f"{language}: run `make lexicon`"


def test_the_forms_are_folded_words() -> None:
    letters = set(string.ascii_lowercase + string.digits + "'-")
    for language in LANGUAGES:
        data = json.loads((LEXICON_DIR / f"{language}.forms.json").read_text(encoding="utf-8"))
        for lemma, forms in data["forms"].items():
            for form in forms:
                assert set(form) <= letters, (language, lemma, form)


def test_word_start_look_behinds_are_hoisted_out_of_alternations() -> None:
    """``(?:<a>|<b>)`` expands to alternatives that all begin with ``(?<!\\w)``; it is
    tested once in front of the group (CPython otherwise tries it per alternative at
    every position), except where the group may match nothing."""
    w = WORD_START
    assert hoist_word_starts(f"(?:{w}a|{w}b) x") == f"{w}(?:a|b) x"
    assert hoist_word_starts(f"(?:(?:{w}a|{w}b)|{w}c)") == f"{w}(?:(?:a|b)|c)"
    for kept in (f"(?:{w}a|{w}b)? x", f"(?:{w}a|{w}b)* x", f"(?:{w}a|{w}b){{2}}", f"(?:{w}a|b)"):
        assert hoist_word_starts(kept) == kept
    assert hoist_word_starts(f"[(](?:{w}a|{w}b)") == f"[(]{w}(?:a|b)"


@pytest.mark.parametrize("language", ["de", "en"])
def test_hoisting_finds_what_the_expanded_pattern_finds(language: str) -> None:
    """Every pattern of a pack, hoisted and not, gives the same matches on the pack's own
    flag and pass examples."""
    lexicon = load_lexicon(language)
    texts = [
        fold_string(line)
        for path in sorted((BUILTIN_DIR / language).glob("*.yaml"))
        for rule in yaml.safe_load(path.read_text(encoding="utf-8"))["rules"]
        for kind in ("flag", "pass")
        for line in (rule.get("examples") or {}).get(kind, [])
    ]
    compared = 0
    for path in sorted((BUILTIN_DIR / language).glob("*.yaml")):
        for rule in yaml.safe_load(path.read_text(encoding="utf-8"))["rules"]:
            for pattern in rule.get("patterns", []):
                plain = translate(lexicon.expand(pattern))
                hoisted = hoist_word_starts(plain)
                if hoisted == plain:
                    continue
                compared += 1
                a, b = re.compile(plain), re.compile(hoisted)
                for text in texts:
                    assert [m.span() for m in a.finditer(text)] == [
                        m.span() for m in b.finditer(text)
                    ], (rule["name"], pattern, text)
    assert compared > 0


def test_build_lexicon_refuses_what_is_not_a_language() -> None:
    """`--help` and an unknown language write no forms file (a bare argv loop once wrote
    rules/lexicon/--help.forms.json)."""
    from rules.build_lexicon import main

    before = sorted(LEXICON_DIR.iterdir())
    for argv, status in ((["--help"], 0), (["xx"], 2), (["fi", "--bogus"], 2)):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == status, argv
    assert sorted(LEXICON_DIR.iterdir()) == before
