"""Optional LLM-as-judge: pairwise, rubric-based, with order and verbosity bias controls.

The judge compares the coach's reply with the gold reference reply on the
rubric of the prompt version (``prompts/<version>/judge.yaml``), drawn from the seed
guides. Each sample is asked twice with the two
replies in swapped positions (order bias cancels out); the prompt tells the
judge that length is not quality, and both replies are shown with their word
counts (verbosity bias is visible in the rationale and in the length ratio).
The score of a case is the mean over samples and orders of 1 (the coach's
reply is better), 0.5 (tie) or 0 (the reference is better).
"""

from __future__ import annotations

import json
from typing import Any

from coach.gateway import Deadline, Gateway, Message, parse_json_object
from coach.prompting import PromptSet, PromptTemplate, fence
from evals.gold import GoldCase


def judge_messages(
    template: PromptTemplate, customer_message: str, first: str, second: str, sample: int
) -> list[Message]:
    """The version's judge prompt for two replies (``first`` shown as A), word counts shown."""
    system, user = template.render(
        customer_message=fence(customer_message),
        reply_a=fence(first),
        reply_b=fence(second),
        words_a=len(first.split()),
        words_b=len(second.split()),
        sample=sample,
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


class LLMJudge:
    def __init__(
        self,
        gateway: Gateway,
        model: str,
        prompts: PromptSet,
        samples: int = 1,
        timeout_s: float = 60.0,
    ) -> None:
        self.gateway = gateway
        self.template = prompts.judge
        self.model = model
        self.samples = max(1, samples)
        self.timeout_s = timeout_s

    async def _ask(self, case: GoldCase, first: str, second: str, sample: int) -> str:
        customer = str(case.input.get("customer_message", ""))
        messages = judge_messages(self.template, customer, first, second, sample + 1)
        raw = await self.gateway.complete(self.model, messages, Deadline(self.timeout_s))
        data: dict[str, Any] = parse_json_object(raw)
        winner = str(data.get("winner", "tie")).strip().upper()
        return winner if winner in {"A", "B"} else "TIE"

    async def score(self, case: GoldCase, reply: str) -> float | None:
        points: list[float] = []
        for sample in range(self.samples):
            for reply_first in (True, False):
                first, second = (
                    (reply, case.reference_reply) if reply_first else (case.reference_reply, reply)
                )
                try:
                    winner = await self._ask(case, first, second, sample)
                except Exception:  # a judge failure leaves the case unjudged, not failed
                    continue
                ours = "A" if reply_first else "B"
                points.append(1.0 if winner == ours else 0.5 if winner == "TIE" else 0.0)
        return round(sum(points) / len(points), 4) if points else None


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
