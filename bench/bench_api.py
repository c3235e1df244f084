"""Requests per second of POST /v1/check against a bare FastAPI ``async def`` echo, under wrk.

    python bench/bench_api.py [--seconds 6] [--connections 32] [--rounds 5]

What it measures: the HTTP throughput and latency of ``POST /v1/check`` as
served by ``coach serve`` (one uvicorn worker, the production stack: uvloop and
httptools from ``uvicorn[standard]``), against a bare FastAPI app whose
``async def`` endpoint validates the same body (the API's own ``CheckRequest``)
and returns it (``bench/echo_app.py``): what FastAPI and uvicorn cost with no
work at all. The ratio check/echo is what the service adds on top (auth, rate
limiter, middleware, request id, metrics, access log, the rules check).

How: both servers run at once on 127.0.0.1 with the same ``uvicorn.run``
flags (one worker, uvicorn's own access log off, proxy headers on, the
coach's JSON log config at level ``info``). ``coach serve`` defaults to
``--log-level info``, so the coach's JSON access log (one line per request) is
on in production and is on here; it is written to a file, and the line count
is printed as a check. The coach runs with an API key (sent by wrk as
``Authorization: Bearer``, also to the echo, which ignores it) and the rate
limit off (``COACH_RATE_LIMIT_PER_MINUTE=0``). The body is a real
300-character agent reply with one blocking phrase.

The load generator is Debian's ``wrk`` (C, one thread by default so the
server gets the other core of a 2-core machine), ``--latency`` for the
percentiles, a Lua script for the POST. Runs alternate (echo, check, echo,
check, ... ``--rounds`` times) so a noisy neighbour hits both rows alike;
the table shows the median requests/s over rounds, its min and max, and the
median of the rounds' p50 and p99 latencies. Any non-2xx response or
socket error is counted and fails the run. When ``wrk`` is missing it is
installed with ``apt-get`` (as root), or the bench stops and says how.

``POST /v1/check`` is served by ``api/hot.py`` (plain ASGI inside the
request-id / body-limit / log layer, ahead of FastAPI's stack); the echo goes
through all of FastAPI. That is what moved the ratio from 0.42 to ~0.6.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _http import free_port, server  # noqa: E402

TEXT = (
    "Hi Sam, thanks for waiting. Calm down, your order 1182 left our warehouse on Monday and "
    "the courier shows it in your city today. I have asked them to call you before delivery, "
    "and I'll keep an eye on it until it arrives. If anything else comes up, just reply here "
    "and I will pick it up straight away."
)
PAYLOAD = json.dumps({"text": TEXT, "language": "en"})
API_KEY = "bench-key-0123456789"
TARGET = 0.60

# The echo under the same uvicorn.run call as `coach serve` (coach/cli.py), app aside.
ECHO_SERVER = """
import sys, uvicorn
from api.logs import log_config
sys.path.insert(0, {here!r})
uvicorn.run("echo_app:app", host="127.0.0.1", port={port}, workers=1,
            log_config=log_config({level!r}), access_log=False, proxy_headers=True)
"""


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        print("installing wrk from Debian's packages", file=sys.stderr)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=sys.stderr)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env, stdout=sys.stderr
        )
        found = shutil.which("wrk")
        if found:
            return found
    sys.exit(
        "bench_api.py needs wrk (the HTTP load generator): install Debian's package with "
        "`apt-get install wrk` (as root), or put a wrk binary on PATH"
    )


def post(url: str) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        url,
        data=PAYLOAD.encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {API_KEY}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return int(response.status), json.loads(response.read())


@dataclass
class Run:
    rps: float
    requests: int
    p50_ms: float
    p99_ms: float
    bad: int  # non-2xx/3xx responses and socket errors


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse_wrk(output: str) -> Run:
    """Requests/s, total requests, p50/p99 (from ``--latency``) and errors from wrk's text."""
    rps = float(re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"^\s*(\d+) requests in ", output, re.M).group(1))  # type: ignore[union-attr]
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+(?:us|ms|s|m))\s*$", output, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    bad = int(non2xx.group(1)) if non2xx else 0
    if sockets:
        bad += sum(int(n) for n in sockets.groups())
    return Run(rps, requests, _ms(percentiles["50"]), _ms(percentiles["99"]), bad)


def wrk_run(
    wrk: str, script: Path, url: str, seconds: float, connections: int, threads: int
) -> Run:
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return parse_wrk(done.stdout)


def write_script(path: Path) -> None:
    # A Lua long string needs no escaping of the JSON; the level is chosen to not occur in it.
    assert "]==]" not in PAYLOAD
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = [==[{PAYLOAD}]==]\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {API_KEY}"\n'
    )


def _imports(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def stack() -> str:
    # uvicorn's "auto" loop and http pick these when they import (the servers share our env).
    loop = "uvloop" if _imports("uvloop") else "asyncio"
    http = "httptools" if _imports("httptools") else "h11"
    return f"uvicorn, {loop} + {http}"


def main(seconds: float, connections: int, rounds: int, threads: int, level: str) -> int:
    wrk = ensure_wrk()
    runs: dict[str, list[Run]] = {"echo (async FastAPI)": [], "/v1/check": []}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        script = tmp / "post.lua"
        write_script(script)
        coach_port, echo_port = free_port(), free_port()
        coach_env = {
            "COACH_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "COACH_RATE_LIMIT_PER_MINUTE": "0",
            "COACH_API_KEYS": API_KEY,
            "COACH_LOG_TEXT": "off",
        }
        coach_args = ["-m", "coach.cli", "serve", "--port", str(coach_port), "--log-level", level]
        echo_args = ["-c", ECHO_SERVER.format(here=str(HERE), port=echo_port, level=level)]
        coach_log, echo_log = tmp / "coach.log", tmp / "echo.log"
        with (
            server(coach_args, coach_port, coach_env, log=coach_log) as coach_url,
            server(echo_args, echo_port, log=echo_log) as echo_url,
        ):
            urls = {
                "echo (async FastAPI)": echo_url + "/echo",
                "/v1/check": coach_url + "/v1/check",
            }
            status, body = post(urls["/v1/check"])
            assert status == 200 and body["passed"] is False, body
            status, body = post(urls["echo (async FastAPI)"])
            assert status == 200 and body["text"] == TEXT, body
            warm = {
                name: wrk_run(wrk, script, url, 1, connections, threads)
                for name, url in urls.items()
            }
            for _ in range(rounds):
                for name, url in urls.items():
                    runs[name].append(wrk_run(wrk, script, url, seconds, connections, threads))
        logged = sum(
            1
            for line in coach_log.read_text().splitlines()
            if line.startswith("{") and json.loads(line).get("route") == "/v1/check"
        )

    print(
        f"wrk -t{threads} -c{connections} -d{seconds:g}s --latency, {rounds} alternating rounds; "
        f"one worker each ({stack()}); coach log level {level}\n"
    )
    header = f"{'row':<22}{'rps':>8}{'min':>8}{'max':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
    print(header)
    for name, rows in runs.items():
        rps = [r.rps for r in rows]
        print(
            f"{name:<22}{statistics.median(rps):>8.0f}{min(rps):>8.0f}{max(rps):>8.0f}"
            f"{statistics.median(r.p50_ms for r in rows):>9.2f}"
            f"{statistics.median(r.p99_ms for r in rows):>9.2f}"
            f"{sum(r.bad for r in rows):>8}"
        )
    echo, check = runs["echo (async FastAPI)"], runs["/v1/check"]
    ratio = statistics.median(r.rps for r in check) / statistics.median(r.rps for r in echo)
    paired = ", ".join(f"{c.rps / e.rps:.2f}" for e, c in zip(echo, check, strict=True))
    print(f"\n/v1/check / echo = {ratio:.2f} (target >= {TARGET:.2f}); per round: {paired}")
    served = sum(r.requests for r in check) + warm["/v1/check"].requests + 1
    print(f"coach access-log lines for /v1/check: {logged} (wrk counted {served} answers)")
    errors = sum(r.bad for rows in runs.values() for r in rows)
    if errors:
        print(f"FAILED: {errors} non-2xx responses or socket errors", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="per run (default 6)")
    parser.add_argument("--connections", type=int, default=32, help="wrk -c (default 32)")
    parser.add_argument("--rounds", type=int, default=5, help="echo/check pairs (default 5)")
    parser.add_argument("--threads", type=int, default=1, help="wrk -t (default 1)")
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="both servers' log level (default info, coach serve's default: access log on)",
    )
    args = parser.parse_args()
    sys.exit(main(args.seconds, args.connections, args.rounds, args.threads, args.log_level))
