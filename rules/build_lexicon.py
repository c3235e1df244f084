"""Write ``rules/lexicon/<lang>.forms.json``: the inflected forms of every <lemma> the built-in
packs use, from simplemma's dictionaries (a dev dependency; ``make lexicon``).

Checking never needs simplemma: the forms files are committed, and
``tests/test_lexicon.py`` regenerates them to prove they are current.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from rules.lexicon import FORM, LEXICON_DIR, lemmas_in, read_yaml
from rules.normalize import fold_string


def _simplemma_forms(language: str, lemmas: set[str]) -> dict[str, list[str]]:
    from simplemma.strategies.dictionaries.dictionary_factory import DefaultDictionaryFactory

    try:
        dictionary = DefaultDictionaryFactory().get_dictionary(language)
    except (ValueError, KeyError):
        return {lemma: [] for lemma in lemmas}
    found: dict[str, set[str]] = {lemma: set() for lemma in lemmas}
    for form, lemma in dictionary.items():
        key = fold_string(lemma)
        if key in found:
            folded = fold_string(form)
            if FORM.match(folded) and folded.isascii() == key.isascii():
                found[key].add(folded)
    return {lemma: sorted(forms - {lemma}) for lemma, forms in found.items()}


def referenced_lemmas(language: str) -> set[str]:
    """The lemmas the built-in packs of ``language`` write as <lemma>."""
    from rules.loader import BUILTIN_DIR

    found: set[str] = set()
    for path in sorted((BUILTIN_DIR / language).glob("*.yaml")):
        pack = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        texts = list(pack.get("softened_by") or [])
        for rule in pack.get("rules") or []:
            texts += list(rule.get("patterns") or []) + list(rule.get("exceptions") or [])
        for text in texts:
            found |= lemmas_in(str(text))
    hand = read_yaml(LEXICON_DIR / f"{language}.yaml")
    for words in (hand.get("classes") or {}).values():
        for text in words:
            found |= lemmas_in(str(text))
    return found


def build_forms(language: str) -> dict[str, object]:
    """The content of ``<language>.forms.json`` for the packs as they are now."""
    import simplemma

    lemmas = referenced_lemmas(language)
    hand = read_yaml(LEXICON_DIR / f"{language}.yaml")
    forms = {} if hand.get("affixes") else _simplemma_forms(language, lemmas)
    return {
        "source": f"simplemma {simplemma.__version__} dictionaries (MIT), folded; "
        "regenerate with `make lexicon`",
        "language": language,
        "forms": {lemma: forms.get(lemma, []) for lemma in sorted(lemmas)},
    }


def write_forms(language: str) -> Path:
    path = LEXICON_DIR / f"{language}.forms.json"
    data = build_forms(language)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    import argparse

    from rules.loader import BUILTIN_DIR

    known = sorted(p.name for p in BUILTIN_DIR.iterdir() if p.is_dir() and p.name != "neutral")
    parser = argparse.ArgumentParser(
        prog="python -m rules.build_lexicon",
        description="Write rules/lexicon/<lang>.forms.json: the forms of every <lemma> the "
        "built-in packs use, from simplemma's dictionaries and the lexicon's own forms.",
    )
    parser.add_argument(
        "languages",
        nargs="*",
        metavar="LL",
        help=f"languages to rebuild (default: all of {', '.join(known)})",
    )
    args = parser.parse_args(argv)
    unknown = [x for x in args.languages if x not in known]
    if unknown:
        parser.error(f"no built-in pack for {', '.join(unknown)}; known: {', '.join(known)}")
    for language in args.languages or known:
        path = write_forms(language)
        count = len(json.loads(path.read_text(encoding="utf-8"))["forms"])
        print(f"{path.relative_to(LEXICON_DIR.parent.parent)}: {count} lemmas")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
