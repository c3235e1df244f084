"""Does a bad draft come back as "the better reply"? Default-deny measured on the blind corpus.

Each one-sentence line of the corpus is sent as the agent's draft to the rules coach (no
model), with an upset customer message in the line's language. A violating draft *echoes*
when its words come back in the suggestion (compared folded: case, accents and spacing
aside). Clean one-sentence drafts are measured the other way: how many the coach kept
(a clean line without a fact or an action is left out by design, so this is not 100%).

    python -m evals.echo --split dev     # tuning (MODEL_FLOOR of coach/draft_filter.py)
    python -m evals.echo --split test    # the number to report

Issue 14's target: at most 2% of violating one-sentence drafts reappear (test split).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Iterable

from evals.corpus import SPLITS, CorpusLine, load_corpus
from rules.engine import sentence_spans
from rules.normalize import fold_string

# Upset customers, one per language: a double charge and no answer (facts the coach may cite).
UPSET: dict[str, str] = {
    "en": "You charged me twice for order 5521 and nobody answers my emails. This is ridiculous!",
    "de": "Sie haben Bestellung 5521 doppelt abgebucht und niemand antwortet auf meine Mails. Unglaublich!",
    "es": "Me cobraron dos veces el pedido 5521 y nadie contesta mis correos. ¡Es indignante!",
    "fr": "Vous m'avez débité deux fois la commande 5521 et personne ne répond à mes e-mails. C'est inadmissible !",
    "pt": "Cobraram-me duas vezes a encomenda 5521 e ninguém responde aos meus e-mails. É inaceitável!",
    "ro": "Mi-ați luat banii de două ori pentru comanda 5521 și nimeni nu răspunde la e-mailuri. E inadmisibil!",
    "fi": "Veloititte tilauksesta 5521 kahdesti, eikä kukaan vastaa sähköposteihini. Tämä on törkeää!",
    "tr": "5521 numaralı siparişim için iki kez ücret aldınız ve kimse e-postalarıma cevap vermiyor. Rezalet!",
    "ms": "Saya dicaj dua kali untuk pesanan 5521 dan tiada siapa jawab emel saya. Melampau betul!",
}


def _folded(text: str) -> str:
    return " ".join(fold_string(text).replace("\u00a0", " ").split())


def echoes(draft: str, suggestion: str) -> bool:
    """Whether the draft's words come back in the suggestion (end punctuation aside)."""
    words = _folded(draft).rstrip(".!?…;: ")
    return bool(words) and words in _folded(suggestion)


def one_sentence(lines: Iterable[CorpusLine]) -> list[CorpusLine]:
    return [line for line in lines if len(sentence_spans(line.text)) == 1]


def measure(split: str) -> dict[str, dict[str, int]]:
    """Per language: violating drafts sent and echoed, clean drafts sent and kept."""
    from coach.pipeline import Coach
    from coach.schemas import CoachRequest
    from coach.settings import CoachSettings

    coach = Coach(CoachSettings(model="rules"))
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for line in one_sentence(x for x in load_corpus() if x.split == split):
        request = CoachRequest(
            customer_message=UPSET[line.language], draft=line.text, language=line.language
        )
        suggestion = coach.coach_sync(request).suggestion
        row = out[line.language]
        kind = "clean" if line.clean else "violating"
        row[kind] += 1
        row[f"{kind}_back"] += echoes(line.text, suggestion)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals.echo", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--split", choices=SPLITS, default="dev")
    args = parser.parse_args(argv)
    table = measure(args.split)
    total: dict[str, int] = defaultdict(int)
    print(f"split {args.split}: one-sentence drafts through the rules coach")
    print(
        f"{'lang':5} {'violating':>9} {'echoed':>7} {'rate':>6}   {'clean':>5} {'kept':>5} {'rate':>6}"
    )
    for language in sorted(table):
        row = table[language]
        for key, value in row.items():
            total[key] += value
        print(_row(language, row))
    print(_row("all", total))
    return 0


def _row(name: str, row: dict[str, int]) -> str:
    v, e, c, k = row["violating"], row["violating_back"], row["clean"], row["clean_back"]
    return f"{name:5} {v:9d} {e:7d} {e / max(v, 1):6.1%}   {c:5d} {k:5d} {k / max(c, 1):6.1%}"


if __name__ == "__main__":
    raise SystemExit(main())
