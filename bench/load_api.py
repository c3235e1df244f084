"""Load test: 200 concurrent clients on /v1/check and /v1/feedback for 30 s, loopback only.

    python bench/load_api.py [--clients 200] [--seconds 30] [--database-url URL]
                             [--replicas N] [--redis-url URL] [--rate-limit PER_MINUTE]

Starts ``coach serve`` on 127.0.0.1 (SQLite in a temporary folder unless
``--database-url`` is given, e.g. the PostgreSQL from ``.ci/postgres.sh``),
creates a few suggestions, then drives half check and half feedback requests.
With ``--replicas N`` it starts N servers sharing the database (and Redis with
``--redis-url``: every request then takes a token from Redis's bucket, so give
``--rate-limit`` a number no run reaches) and sends request i to replica i mod N, as a
round-robin balancer does. Bounded in time and in count (``--max-requests``). Afterwards it reads the
database: every feedback answered 201 must be there. Exits 1 on any 5xx,
transport error or lost feedback row.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from contextlib import ExitStack

from _http import drive, free_port, server

from coach.store import Store

REPLIES = [
    "Calm down, your order ships tomorrow.",
    "I'm sorry for the wait; I've asked the courier for an update and will write to you today.",
    "That's not our policy, but I can check whether an exception is possible.",
    "Sakin olun, siparişiniz yarın kargoda.",
    "Rauhoittukaa, tilauksenne lähtee huomenna.",
]


def main(
    clients: int,
    seconds: float,
    database_url: str | None,
    max_requests: int,
    replicas: int = 1,
    redis_url: str | None = None,
    rate_limit: int = 0,
) -> int:
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        db = database_url or f"sqlite:///{tmp}/load.db"
        env = {"COACH_DATABASE_URL": db, "COACH_RATE_LIMIT_PER_MINUTE": str(rate_limit)}
        if redis_url:
            env["COACH_REDIS_URL"] = redis_url
        urls = []
        for _ in range(replicas):
            port = free_port()
            args = ["-m", "coach.cli", "serve", "--port", str(port), "--log-level", "warning"]
            urls.append(stack.enter_context(server(args, port, env)))
        url = urls[0]
        request_ids = [
            httpx.post(
                f"{url}/v1/coach",
                json={"customer_message": f"Where is order {n}?!"},
                timeout=30,
            ).json()["request_id"]
            for n in range(5)
        ]

        def make(i: int) -> tuple[str, str, dict[str, object]]:
            base = urls[i % len(urls)]
            if i % 2:
                return "POST", f"{base}/v1/check", {"text": REPLIES[i % len(REPLIES)]}
            action = ("accepted", "edited", "rejected")[i % 3]
            body: dict[str, object] = {"request_id": request_ids[i % 5], "action": action}
            if action == "edited":
                body["final_text"] = f"Edited reply number {i}."
            return "POST", f"{base}/v1/feedback", body

        result = asyncio.run(
            drive(
                url,
                make,
                clients=clients,
                seconds=seconds,
                keep_bodies=lambda status, path: status == 201,
                max_requests=max_requests,
            )
        )
        store = Store(db)
        stored = store.feedback_ids()
        store.close()
    accepted = {int(b["id"]) for b in result.bodies}
    lost = accepted - stored
    server_errors = sum(v for k, v in result.statuses.items() if k >= 500)
    shared = f", rate limits in redis ({rate_limit}/min)" if redis_url else ""
    print(
        f"{replicas} replica(s){shared}, {clients} clients, {result.seconds:.1f} s, "
        f"{result.count} requests ({result.rps:.0f}/s)"
    )
    print(f"latency p50 {result.p50:.1f} ms, p99 {result.pct(0.99):.1f} ms")
    print(
        f"statuses {dict(sorted(result.statuses.items()))}, transport errors {dict(result.errors)}"
    )
    print(
        f"feedback answered 201: {len(accepted)}, in the database: {len(accepted & stored)}, lost: {len(lost)}"
    )
    ok = server_errors == 0 and not result.errors and not lost
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--database-url")
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--redis-url")
    parser.add_argument("--rate-limit", type=int, default=0, help="per minute; 0 = off")
    args = parser.parse_args()
    sys.exit(
        main(
            args.clients,
            args.seconds,
            args.database_url,
            args.max_requests,
            args.replicas,
            args.redis_url,
            args.rate_limit,
        )
    )
