"""Requests per second of POST /v1/check against a bare FastAPI echo endpoint, in one run.

    python bench/bench_api.py [--seconds S] [--clients N]

Both servers run as one uvicorn process (one worker) on 127.0.0.1 and get the
same load from one async httpx client process: ``--clients`` concurrent
connections for ``--seconds``. The payload is a real 300-character agent
reply with one blocking phrase. The echo endpoint validates the same body
with pydantic and returns it: what FastAPI costs with no work at all. Prints
rps, p50 and p99 per row and the ratio (target: /v1/check >= 60% of echo).
On a 2-core machine the client shares the CPU with the server, so both rows
are lower than on a dedicated load generator; the ratio is the comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _http import drive, free_port, server

TEXT = (
    "Hi Sam, thanks for waiting. Calm down, your order 1182 left our warehouse on Monday and "
    "the courier shows it in your city today. I have asked them to call you before delivery, "
    "and I'll keep an eye on it until it arrives. If anything else comes up, just reply here "
    "and I will pick it up straight away."
)


async def measure(url: str, path: str, clients: int, seconds: float) -> object:
    payload = {"text": TEXT, "language": "en"}
    # A short warm-up so both servers are past their first requests.
    await drive(url, lambda i: ("POST", path, payload), clients=4, seconds=1.0)
    return await drive(url, lambda i: ("POST", path, payload), clients=clients, seconds=seconds)


def main(seconds: float, clients: int) -> None:
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {
            "COACH_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "COACH_RATE_LIMIT_PER_MINUTE": "0",
        }
        with server(
            ["-m", "coach.cli", "serve", "--port", str(port), "--log-level", "warning"], port, env
        ) as url:
            rows["/v1/check"] = asyncio.run(measure(url, "/v1/check", clients, seconds))
        port = free_port()
        here = str(Path(__file__).resolve().parent)
        args = [
            "-m",
            "uvicorn",
            "echo_app:app",
            "--app-dir",
            here,
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        with server(args, port) as url:
            rows["echo (bare FastAPI)"] = asyncio.run(measure(url, "/echo", clients, seconds))
    print(f"{clients} concurrent clients, {seconds:g} s per row, one uvicorn worker each\n")
    print(f"{'endpoint':<22}{'requests':>10}{'rps':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>9}")
    for name, r in rows.items():
        bad = (
            r.count
            - sum(v for k, v in r.statuses.items() if 200 <= k < 300)
            + sum(r.errors.values())
        )  # type: ignore[attr-defined]
        print(f"{name:<22}{r.count:>10}{r.rps:>10.0f}{r.p50:>10.2f}{r.pct(0.99):>10.2f}{bad:>9}")  # type: ignore[attr-defined]
    check, echo = rows["/v1/check"], rows["echo (bare FastAPI)"]
    print(f"\n/v1/check rps = {check.rps / echo.rps:.0%} of the bare echo (target >= 60%)")  # type: ignore[attr-defined]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    main(args.seconds, args.clients)
