"""The eval runner on 1,000 cases against a fast fake model, timed end to end.

    python bench/bench_eval.py [--cases 1000] [--concurrency 16]

The gold set is repeated (with fresh ids) up to ``--cases``. The fake
OpenAI-compatible server answers at once with each case's reference reply (so
the guard accepts most answers first time, as with a good model); no cache,
so every case goes through litellm over HTTP, the guard, the assertions and
chrF++ against the reference. Prints wall time and cases per second for the model
run and for the rules-coach baseline. Target (issue 5): under 60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# the fake OpenAI-compatible server is test code (tests/fake_openai_server.py), not the product
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fake_openai_server import Answer, FakeLLM, Recorded
from rich.console import Console

from coach.settings import CoachSettings
from evals.gold import GOLD_DIR, load_gold
from evals.run import run_eval

_BLOCK = re.compile(r"<customer_message>\n(.*?)\n</customer_message>", re.S)


def main(count: int, concurrency: int) -> None:
    gold = load_gold(GOLD_DIR)
    replies = {case.input["customer_message"]: case.reference_reply for case in gold}

    def respond(request: Recorded) -> Answer:
        match = _BLOCK.search(request.messages[1]["content"])
        reply = replies.get(
            match.group(1) if match else "", "I'm sorry about this. I'm checking it now."
        )
        return Answer.reply(reply, ["acknowledge", "apologize"])

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gold.jsonl"
        with path.open("w", encoding="utf-8") as sink:
            for i in range(count):
                case = gold[i % len(gold)].model_dump(by_alias=True, exclude_none=True)
                case["id"] = f"{case['language']}-bench-{i:05d}"
                sink.write(json.dumps(case, ensure_ascii=False) + "\n")
        with FakeLLM(responder=respond) as llm:
            base = CoachSettings(api_base=llm.base_url, api_key="sk-bench", timeout_s=30)
            started = time.perf_counter()
            run = run_eval(
                gold=path,
                model="openai/bench",
                out=Path(tmp) / "model",
                cache_dir=None,
                concurrency=concurrency,
                base=base,
                console=Console(quiet=True),
                baseline=False,
            )
            model_s = time.perf_counter() - started
            started = time.perf_counter()
            run_eval(
                gold=path,
                model="rules",
                out=Path(tmp) / "rules",
                cache_dir=None,
                concurrency=concurrency,
                base=base,
                console=Console(quiet=True),
            )
            rules_s = time.perf_counter() - started
    metrics = run["systems"]["openai/bench"]["metrics"]
    print(f"{count} cases, concurrency {concurrency}, fake model answering at once\n")
    print(f"{'run':<28}{'seconds':>10}{'cases/s':>10}")
    print(f"{'model (litellm + guard)':<28}{model_s:>10.1f}{count / model_s:>10.1f}")
    print(f"{'rules coach (baseline)':<28}{rules_s:>10.1f}{count / rules_s:>10.1f}")
    print(
        f"\nmodel run: pass rate {metrics['pass_rate']:.0%}, guard {metrics['guard_pass_rate']:.0%}, "
        f"errors {metrics['errors']} (target: under 60 s for {count} cases)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    main(args.cases, args.concurrency)
