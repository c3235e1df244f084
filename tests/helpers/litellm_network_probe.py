"""Run `coach suggest` through litellm with every non-loopback connection recorded and refused.

Usage: python litellm_network_probe.py [coach|control]
  coach:   as shipped
  control: litellm's own default (remote model cost map), to show the probe sees traffic
Starts the fake OpenAI-compatible server in this process, points COACH_MODEL
at it, runs the CLI, and prints the attempts to reach anything else (cost-map
downloads, telemetry, DNS) as one JSON line at interpreter exit.
"""

import atexit
import json
import os
import socket
import sys
from pathlib import Path

attempts: list[str] = []
loopback_calls: list[str] = []


def _report() -> None:
    print("ATTEMPTS " + json.dumps(attempts), flush=True)
    print("LOOPBACK " + json.dumps(len(loopback_calls)), flush=True)


atexit.register(_report)

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _host(address: object) -> str:
    return str(address[0]) if isinstance(address, tuple) else str(address)


def _connect(self: socket.socket, address: object) -> None:
    if _host(address) in LOOPBACK:
        loopback_calls.append(repr(address))
        return _real_connect(self, address)  # type: ignore[arg-type]
    attempts.append(f"connect {address!r}")
    raise OSError("outbound connection refused by test")


def _connect_ex(self: socket.socket, address: object) -> int:
    if _host(address) in LOOPBACK:
        loopback_calls.append(repr(address))
        return _real_connect_ex(self, address)  # type: ignore[arg-type]
    attempts.append(f"connect {address!r}")
    return 111


def _getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
    if str(host) in LOOPBACK:
        return _real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]
    attempts.append(f"resolve {host!r}")
    raise socket.gaierror("name resolution refused by test")


socket.socket.connect = _connect  # type: ignore[method-assign]
socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
socket.getaddrinfo = _getaddrinfo  # type: ignore[assignment]

if sys.argv[1:] == ["control"]:
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "False"

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the fake server
from fake_openai_server import Answer, FakeLLM  # noqa: E402

with FakeLLM(
    responder=lambda _: Answer.reply("I'm sorry about the double charge. I am checking it now.")
) as llm:
    os.environ.update(
        COACH_MODEL="openai/probe", COACH_API_BASE=llm.base_url, COACH_API_KEY="sk-probe"
    )
    from coach.cli import main

    code = main(["suggest", "--customer", "You charged me twice!", "--lang", "en", "--json"])
sys.stdout.flush()
sys.exit(code)
