"""Run guardrails validation with every outbound connection recorded and refused.

Usage: python no_network_probe.py [coach|raw]
  coach: import through coach.validators (telemetry off) and validate
  raw:   plain guardrails with its defaults (the control: shows the probe sees traffic)
Prints one JSON line: the attempted connections, at interpreter exit.
"""

import atexit
import json
import socket
import sys

attempts: list[str] = []


def _report() -> None:
    print("ATTEMPTS " + json.dumps(attempts), flush=True)


atexit.register(_report)  # registered first, so it runs after every library's exit hook

_real_connect = socket.socket.connect


def _record_connect(self: socket.socket, address: object) -> None:
    attempts.append(f"connect {address!r}")
    raise OSError("outbound connection refused by test")


def _record_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
    attempts.append(f"resolve {host!r}")
    raise socket.gaierror("name resolution refused by test")


socket.socket.connect = _record_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _record_connect  # type: ignore[method-assign,assignment]
socket.getaddrinfo = _record_getaddrinfo  # type: ignore[assignment]

mode = sys.argv[1]
if mode == "coach":
    from guardrails import Guard

    from coach.validators import AllRules, Dismissive, OverPromise

    guard = Guard().use(Dismissive(language="en", on_fail="fix"), OverPromise(on_fail="fix"))
    for text in ["Calm down, I guarantee it.", "Thanks for waiting!"]:
        guard.validate(text)
    Guard().use(AllRules(on_fail="noop")).validate("There's nothing I can do.")
else:
    from guardrails import Guard
    from guardrails.validator_base import PassResult, Validator, register_validator

    @register_validator(name="probe/always-pass", data_type="string")
    class AlwaysPass(Validator):
        def _validate(self, value, metadata):  # type: ignore[no-untyped-def]
            return PassResult()

    Guard().use(AlwaysPass()).validate("hello")
