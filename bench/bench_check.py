"""Median time per check of a 1,000-character reply, against two peers, in one run.

    python bench/bench_check.py [--runs N] [--languages en,tr,...]

For each language two 1,000-character texts, each with one phrase that
breaks a rule at the front:

* ``prose``: real text from inside the repository: agent replies from the
  Twitter customer-care data (``evals/data/``) for en, the gold set's
  customer messages and reference replies for the other languages;
* ``hard``: the pack's own pass examples, near-misses written to trip the
  rules' anchors: the worst case for the prefilter.

Each is checked by

* the coach engine (``RuleSet.check``: all rules of the language + neutral),
* the coach Python API (``coach.check``: the engine, the learned layer and the pydantic
  result),
* the learned layer alone (``LearnedModel.scores`` over the text's sentences),
* guardrails-ai-ban-list's ``BanList`` validator on the same phrases
  (the phrases the pack's flag examples are caught on),
* one bare compiled regex: an alternation of the same phrases, escaped.

Prints a table of median microseconds and the ratio BanList / engine.
Targets (issue 12): engine <= 150 us median in every language, >= 10x faster than BanList.
Targets (issue 13): the learned layer loads in <= 0.3 s and <= 50 MB, and scores a
1,000-character text in <= 300 us.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from coach.telemetry import quiet_guardrails

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _prose(language: str) -> list[str]:
    """Real or realistic text in the language, from files inside the repository."""
    if language == "en":
        from evals.datasets import TWITTER_CUSTOMER_CARE

        items = json.loads(TWITTER_CUSTOMER_CARE.read_text(encoding="utf-8"))
        return [item["agentURL"]["url_utterance"] for item in items]
    # The gold set's customer messages and reference replies.
    gold = Path(__file__).resolve().parents[1] / "evals" / "gold" / f"{language}.jsonl"
    cases = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines() if line]
    return [
        t
        for c in cases
        for t in (c["input"]["customer_message"], c["reference_reply"])
        if len(t) > 40
    ]


def build_texts(language: str, rules: object) -> tuple[dict[str, str], list[str]]:
    from rules import RuleSet

    assert isinstance(rules, RuleSet)
    own = [r for r in rules.rules if r.language == language]
    flags = [line for r in own for line in r.spec.examples.flag]
    phrases = sorted({f.text.lower() for line in flags for f in rules.check(line, language)})
    sources = {"prose": _prose(language), "hard": [x for r in own for x in r.spec.examples.pass_]}
    texts = {}
    for name, lines in sources.items():
        parts = [flags[0]]
        i = 0
        while len(" ".join(parts)) < 1000:
            parts.append(lines[i % len(lines)])
            i += 1
        texts[name] = " ".join(parts)[:1000]
    return texts, phrases


def median_us(fn: Callable[[], object], runs: int) -> float:
    for _ in range(min(50, runs)):
        fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t0)
    return statistics.median(samples) / 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="benchmark the rules check")
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--languages", default="en,tr,ro,fi,ms,es,de,fr,pt")
    args = parser.parse_args(argv)

    from coach import check
    from rules import load_rules

    quiet_guardrails()
    import tracemalloc

    from guardrails_ai.ban_list import BanList

    from coach.learned_layer import _blank
    from rules.engine import sentence_spans
    from rules.learned import load_model

    tracemalloc.start()
    t0 = time.perf_counter()
    model = load_model()
    load_s = time.perf_counter() - t0
    load_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    assert model is not None, "no rules/model/detector.npz: run make train"
    print(
        f"learned layer: loaded in {load_s * 1000:.0f} ms, peak {load_mb:.1f} MB "
        f"(targets <= 300 ms, <= 50 MB)\n"
    )

    def score(text: str) -> object:
        blank = _blank(text)
        return model.scores([blank[a:b] for a, b in sentence_spans(blank)])

    rules = load_rules()
    rows = []
    for language in args.languages.split(","):
        texts, phrases = build_texts(language, rules)
        bare = re.compile("|".join(re.escape(p) for p in phrases))
        ban = BanList(banned_words=phrases, max_l_dist=1)
        for kind, text in texts.items():
            assert len(text) == 1000
            assert rules.check(text, language), "the text must contain one violation"
            engine = median_us(partial(rules.check, text, language), args.runs)
            api = median_us(partial(check, text, language), args.runs)
            banlist = median_us(partial(ban.validate, text, {}), max(20, args.runs // 50))
            regex = median_us(partial(bare.search, text.lower()), args.runs)
            learned = median_us(partial(score, text), args.runs)
            n_rules = len(rules.rules_for(language))
            rows.append(
                (language, kind, n_rules, len(phrases), engine, api, banlist, regex, learned)
            )

    header = (
        "lang", "text", "rules", "phrases", "engine us", "coach.check us",
        "BanList us", "bare regex us", "BanList/engine", "model us",
    )  # fmt: skip
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for lang, kind, n_rules, n_phr, engine, api, banlist, regex, learned in rows:
        print(
            f"{lang} | {kind} | {n_rules} | {n_phr} | {engine:.1f} | {api:.1f} | {banlist:.0f} | "
            f"{regex:.1f} | {banlist / engine:.0f}x | {learned:.1f}"
        )
    for kind in ("prose", "hard"):
        selected = [r for r in rows if r[1] == kind]
        worst = max(r[4] for r in selected)
        ratio = min(r[6] / r[4] for r in selected)
        verdict = "OK" if worst <= 150 and ratio >= 10 else "MISSED"
        print(
            f"{kind}: worst engine median {worst:.1f} us (target <= 150), "
            f"smallest BanList ratio {ratio:.0f}x (target >= 10x): {verdict}"
        )
    worst_model = max(r[8] for r in rows)
    print(
        f"learned layer: worst median {worst_model:.1f} us per 1,000 characters (target <= 300): "
        f"{'OK' if worst_model <= 300 else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
