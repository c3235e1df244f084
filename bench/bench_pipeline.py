"""The coaching pipeline's overhead over a raw litellm call, in one run.

    python bench/bench_pipeline.py [--runs N] [--latency-ms MS]

Both sides talk to the same fake OpenAI-compatible server on 127.0.0.1
(``tests/fake_openai_server.py``) that answers every request after a fixed latency with a
reply that passes the rules, so the difference is what the coach adds:
language detection, the draft check, customer analysis, rendering the prompt
(Jinja), parsing and validating the JSON answer, the guard (rules, no-new-facts
check, reply-language check) and building the CoachResult.

Rows:

* ``litellm raw``: ``litellm.acompletion`` with the same messages the coach sends;
* ``httpx raw``: one POST with httpx (what litellm itself adds, for context);
* ``coach (model)``: ``Coach.coach`` through litellm, answer accepted first time;
* ``coach (rules)``: the offline rules coach, no model (no network at all).

Prints median and p95 per row, and the overhead p50/p95 of the coach over
litellm raw. Target (issue 3): <= 15 ms p50 overhead.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# the fake OpenAI-compatible server is test code (tests/fake_openai_server.py), not the product
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fake_openai_server import Answer, FakeLLM

from coach.gateway import close_clients, litellm
from coach.pipeline import Coach
from coach.schemas import CoachRequest
from coach.settings import CoachSettings

REPLY = (
    "I'm sorry you were charged twice for order 1182, and that nobody answered your emails. "
    "I have asked our billing team to check the payment today. "
    "I will write to you as soon as I hear back. Is there anything else I can help with?"
)
REQUEST = CoachRequest(
    customer_message="You charged me twice for order 1182 and nobody answers my emails! Fix it.",
    draft="Calm down. That's not our policy. I'll look at order 1182.",
    context={"customer_name": "Ana", "facts": ["order 1182 paid on 3 Nov"]},  # type: ignore[arg-type]
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def timed(fn: Callable[[], Awaitable[object]], runs: int, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        await fn()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


async def main(runs: int, latency_ms: float) -> None:
    import httpx

    with FakeLLM(
        responder=lambda _: Answer.reply(REPLY, ["apologize"]), latency=latency_ms / 1000
    ) as llm:
        # The draft review (COACH_REVIEW_DRAFTS) is one more model call of its own; the
        # overhead measured here is the pipeline around one call, so it is off.
        settings = CoachSettings(
            model="openai/bench",
            api_base=llm.base_url,
            api_key="sk-bench",
            timeout_s=30,
            review_drafts=False,
        )
        coach = Coach(settings)
        rules_coach = Coach(CoachSettings(model="rules"))
        messages = coach._messages(coach._prepare(REQUEST))
        lib = litellm()

        async def raw_litellm() -> object:
            return await lib.acompletion(
                model="openai/bench",
                messages=messages,
                api_base=llm.base_url,
                api_key="sk-bench",
                temperature=0.3,
                num_retries=0,
                max_retries=0,
                response_format={"type": "json_object"},
            )

        client = httpx.AsyncClient()

        async def raw_httpx() -> object:
            response = await client.post(
                f"{llm.base_url}/chat/completions",
                json={"model": "bench", "messages": messages, "temperature": 0.3},
                headers={"Authorization": "Bearer sk-bench"},
            )
            return response.json()

        async def with_model() -> object:
            result = await coach.coach(REQUEST)
            assert result.model == "openai/bench" and not result.degraded, result.attempts
            return result

        async def rules_only() -> object:
            return await rules_coach.coach(REQUEST)

        rows = {
            "litellm raw": await timed(raw_litellm, runs),
            "httpx raw": await timed(raw_httpx, runs),
            "coach (model)": await timed(with_model, runs),
            "coach (rules)": await timed(rules_only, runs),
        }
        await client.aclose()
        await close_clients()

    print(f"fake model latency {latency_ms:g} ms, {runs} sequential requests per row\n")
    print(f"{'row':<16}{'p50 ms':>10}{'p95 ms':>10}")
    for name, values in rows.items():
        print(f"{name:<16}{statistics.median(values):>10.2f}{percentile(values, 0.95):>10.2f}")
    base, ours = rows["litellm raw"], rows["coach (model)"]
    over50 = statistics.median(ours) - statistics.median(base)
    over95 = percentile(ours, 0.95) - percentile(base, 0.95)
    ratio = statistics.median(ours) / statistics.median(base)
    print(
        f"\ncoach overhead over litellm raw: p50 {over50:+.2f} ms, p95 {over95:+.2f} ms, "
        f"ratio p50 {ratio:.2f}x (target: <= 15 ms p50)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.latency_ms))
