"""Build the gold cases that rest on real customer messages (the Twitter customer-care data).

    python -m evals.build_twitter_cases [--count 60] > evals/gold/en-twitter.jsonl

Each case takes a real customer's first message and the company's real final
reply (IBM/twitter-customer-care-document-prediction, test.json, Apache-2.0;
see evals/data/twitter-customer-care/LICENSE). Every other case gets the
real reply as its draft unchanged (it must pass: real agents wrote it); the
rest get the real reply with one escalating sentence put in front (a known
category: it must be flagged, and the coach's reply must not keep it). The
reference reply is the real agent reply. Deterministic: same data, same cases.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from evals.datasets import TWITTER_CUSTOMER_CARE

DATA = TWITTER_CUSTOMER_CARE

# (sentence put in front of the real reply, its category, a fragment that must not survive)
BAD_OPENERS = [
    ("Calm down, please.", "dismissive", "calm down"),
    ("That's not our policy.", "policy_shield", "not our policy"),
    ("There's nothing I can do about this.", "helpless", "nothing i can do"),
    ("You misunderstood how this works.", "blame", "you misunderstood"),
    ("I'm busy right now, so keep it short.", "brush_off", "i'm busy"),
    ("I guarantee this will never happen again.", "over_promise", "guarantee"),
    ("Sorry if you feel that way.", "false_apology", "sorry if you feel"),
    ("That is not my department.", "brush_off", "not my department"),
]


def build(count: int) -> list[dict[str, Any]]:
    dialogs = json.loads(DATA.read_text(encoding="utf-8"))
    cases: list[dict[str, Any]] = []
    for item in dialogs:
        first = next((m for m in item["dialogContent"] if "client" in m), None)
        reply = item["agentURL"]["url_utterance"].strip()
        if first is None or len(first["message"].strip()) < 25 or len(reply) < 40:
            continue
        n = len(cases)
        doc = item["agentURL"]["doc_id"]
        company = item.get("dialogHeader", {}).get("company", "")
        case: dict[str, Any] = {
            "id": f"en-twitter-{n + 1:03d}",
            "language": "en",
            "tags": ["twitter", company.lower()] if company else ["twitter"],
            "source": f"twitter-customer-care/test.json#{doc}",
            "input": {"customer_message": first["message"].strip(), "channel": "social"},
            "assert": {"reply_language": "en"},
            "reference_reply": reply,
        }
        if n % 2 == 0:
            case["input"]["draft"] = reply
            case["assert"]["draft_passes"] = True
            case["tags"].append("real-draft")
        else:
            opener, category, fragment = BAD_OPENERS[(n // 2) % len(BAD_OPENERS)]
            case["input"]["draft"] = f"{opener} {reply}"
            case["assert"]["draft_flags"] = [category]
            case["assert"]["draft_passes"] = False
            case["assert"]["reply_not_contains"] = [fragment]
            case["tags"] += ["edited-draft", category]
        cases.append(case)
        if len(cases) == count:
            break
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60)
    args = parser.parse_args()
    for case in build(args.count):
        sys.stdout.write(json.dumps(case, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
