"""The LLM gateway: the only place litellm is called.

* any litellm model string, with ``api_base``/``api_key`` from the settings;
* retries with tenacity on transient failures (429, 5xx, timeouts, connection
  errors), jittered exponential backoff that honours ``Retry-After``; litellm's
  and the OpenAI SDK's own retries are off so that one policy applies;
* a 4xx that will not change (bad request, auth, not found) fails the model
  at once;
* one :class:`Deadline` per coaching request bounds every call, retry and wait;
* structured output: the answer must be a JSON object that validates as
  :class:`ModelReply`; junk is re-asked once, then the model counts as failed.

litellm is imported on first use (about 3 s), after
:func:`coach.telemetry.prepare_litellm_env`.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import ModuleType
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from coach.telemetry import prepare_litellm_env

T = TypeVar("T")

Message = dict[str, str]
FailureKind = Literal["transient", "fatal", "invalid_output", "deadline"]

# Statuses worth another try: they may well change by themselves.
TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
# Below this much time left, a call cannot finish: do not start it.
MIN_CALL_S = 0.05


@lru_cache(maxsize=1)
def litellm() -> ModuleType:
    prepare_litellm_env()
    import litellm as module

    module.suppress_debug_info = True
    module.drop_params = True  # response_format etc. where a provider lacks them
    return module


async def close_clients() -> None:
    """Close litellm's cached async HTTP clients (before an event loop ends)."""
    if "litellm" not in sys.modules:
        return
    from litellm.llms.custom_httpx.async_client_cleanup import close_litellm_async_clients

    await close_litellm_async_clients()  # type: ignore[no-untyped-call]


class Deadline:
    """One overall time budget, shared by every step of a request."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - time.monotonic())

    @property
    def expired(self) -> bool:
        return self.remaining() < MIN_CALL_S


class ModelReply(BaseModel):
    """What the prompt asks the model for."""

    reply: str = Field(min_length=1, max_length=8000)
    techniques: list[str] = Field(default_factory=list, max_length=30)
    notes: list[str] = Field(default_factory=list, max_length=10)


class ModelFailure(Exception):
    """A model could not give a usable answer; ``kind`` says why."""

    def __init__(self, model: str, kind: FailureKind, detail: str) -> None:
        self.model = model
        self.kind = kind
        self.detail = detail
        super().__init__(f"{model}: {kind}: {detail}")


class InvalidOutput(ValueError):
    pass


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


def parse_json_object(raw: str) -> dict[str, Any]:
    """The JSON object in a model's answer (code fences and chatter around it tolerated)."""
    text = _FENCE.sub("", raw.strip())
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise InvalidOutput("the answer is not a JSON object")
    try:
        data = json.loads(text[start : end + 1])
    except json.JSONDecodeError as exc:
        raise InvalidOutput(f"the answer is not valid JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise InvalidOutput("the answer is not a JSON object")
    return data


def parse_reply(raw: str) -> ModelReply:
    """The model's JSON answer, validated as a :class:`ModelReply`."""
    data = parse_json_object(raw)
    try:
        reply = ModelReply.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "object"
        raise InvalidOutput(f"the JSON does not fit the format ({where}: {first['msg']})") from exc
    if not reply.reply.strip():
        raise InvalidOutput("the reply is empty")
    return reply


class stop_when(stop_base):  # lower case like the rest of tenacity
    """A tenacity stop condition from a predicate, composable with ``|``."""

    def __init__(self, predicate: Callable[[RetryCallState], bool]) -> None:
        self.predicate = predicate

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.predicate(retry_state)


def status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def is_transient(exc: BaseException) -> bool:
    """Worth retrying the same model: rate limits, server errors, timeouts, dropped connections."""
    if isinstance(exc, asyncio.TimeoutError | TimeoutError | ConnectionError):
        return True
    lib = litellm()
    transient_types = (
        lib.RateLimitError,
        lib.InternalServerError,
        lib.ServiceUnavailableError,
        lib.BadGatewayError,
        lib.Timeout,
        lib.APIConnectionError,
    )
    if isinstance(exc, transient_types):
        return True
    status = status_of(exc)
    return status is not None and status in TRANSIENT_STATUS


def retry_after(exc: BaseException) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (seconds form), if any."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    value = None
    if headers is not None:
        try:
            value = headers.get("retry-after")
        except Exception:  # a mock or odd object: ignore
            value = None
    if value is None:
        extra = getattr(exc, "litellm_response_headers", None) or {}
        value = extra.get("retry-after") if hasattr(extra, "get") else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


@dataclass
class GatewayStats:
    """Counters for /metrics and the bench."""

    calls: int = 0
    retries: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    invalid_outputs: int = 0


@dataclass
class Answered:
    model: str
    reply: ModelReply
    raw: str
    messages: list[Message]
    calls: int


class Gateway:
    """Calls one model at a time; the pipeline decides about fallbacks and re-asks."""

    def __init__(
        self,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        max_retries: int = 2,
        backoff_base: float = 0.25,
        backoff_max: float = 4.0,
        temperature: float = 0.3,
    ) -> None:
        self.api_base = api_base
        self.api_key = api_key
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.temperature = temperature
        self.stats = GatewayStats()

    async def complete(
        self, model: str, messages: Sequence[Message], deadline: Deadline, *, json_mode: bool = True
    ) -> str:
        """The model's raw text answer, with retries on transient errors within the deadline
        (``json_mode=False``: a plain-text answer, for requests passed through unchanged)."""
        jitter = wait_random_exponential(multiplier=self.backoff_base, max=self.backoff_max)

        def wait(state: RetryCallState) -> float:
            pause = jitter(state)
            outcome = state.outcome
            error = outcome.exception() if outcome is not None and outcome.failed else None
            if error is not None:
                asked = retry_after(error)
                if asked is not None:
                    pause = max(pause, asked)
            # Never sleep past the deadline: the next try would have no time anyway.
            return min(pause, max(0.0, deadline.remaining() - MIN_CALL_S))

        def out_of_time(state: RetryCallState) -> bool:
            return deadline.expired

        retrying = AsyncRetrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(self.max_retries + 1) | stop_when(out_of_time),
            wait=wait,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        self.stats.retries += 1
                    return await self._call(model, messages, deadline, json_mode=json_mode)
        except ModelFailure:
            raise
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                raise
            self.stats.failures[model] = self.stats.failures.get(model, 0) + 1
            if deadline.expired:
                raise ModelFailure(
                    model, "deadline", f"no answer within {deadline.seconds:g} s"
                ) from exc
            kind: FailureKind = "transient" if is_transient(exc) else "fatal"
            status = status_of(exc)
            label = f"HTTP {status}" if status else type(exc).__name__
            raise ModelFailure(model, kind, f"{label}: {_short(exc)}") from exc
        raise ModelFailure(model, "deadline", "no attempt could start before the deadline")

    def request_options(
        self,
        model: str,
        messages: Sequence[Message],
        deadline: Deadline,
        *,
        stream: bool = False,
        json_mode: bool = True,
    ) -> dict[str, Any]:
        """The litellm arguments of one call (raises when the deadline leaves no time)."""
        if deadline.remaining() < MIN_CALL_S:
            raise ModelFailure(model, "deadline", f"no answer within {deadline.seconds:g} s")
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": list(messages),
            "temperature": self.temperature,
            # A constant timeout: litellm caches HTTP clients per timeout value, so a
            # changing one would open a new connection per call. The deadline is
            # enforced with asyncio.wait_for around the call.
            "timeout": deadline.seconds,
            "num_retries": 0,
            "max_retries": 0,
        }
        if json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        if stream:
            kwargs["stream"] = True
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self.api_key:
            kwargs["api_key"] = self.api_key
        self.stats.calls += 1
        return kwargs

    async def _call(
        self, model: str, messages: Sequence[Message], deadline: Deadline, *, json_mode: bool = True
    ) -> str:
        kwargs = self.request_options(model, messages, deadline, json_mode=json_mode)
        response = await asyncio.wait_for(
            litellm().acompletion(**kwargs), timeout=deadline.remaining()
        )
        content = response.choices[0].message.content
        return content if isinstance(content, str) else ""

    async def ask_parsed(
        self,
        model: str,
        messages: Sequence[Message],
        deadline: Deadline,
        parse: Callable[[str], T],
        reask: Callable[[InvalidOutput], str],
    ) -> tuple[T, str, list[Message], int]:
        """``parse`` of the model's answer, its raw text, the conversation that produced it
        and the number of calls: one re-ask (``reask``'s message) on junk, then
        :class:`ModelFailure`."""
        convo = list(messages)
        for calls in (1, 2):
            raw = await self.complete(model, convo, deadline)
            try:
                return parse(raw), raw, convo, calls
            except InvalidOutput as exc:
                self.stats.invalid_outputs += 1
                if calls == 2 or deadline.expired:
                    raise ModelFailure(model, "invalid_output", str(exc)) from exc
                convo = [
                    *convo,
                    {"role": "assistant", "content": raw[:2000]},
                    {"role": "user", "content": reask(exc)},
                ]
        raise AssertionError("unreachable")

    async def ask(
        self,
        model: str,
        messages: Sequence[Message],
        deadline: Deadline,
        reask: Callable[[InvalidOutput], str],
    ) -> Answered:
        """A validated :class:`ModelReply`; one re-ask on junk (``reask``'s message, the
        prompt version's ``invalid``), then :class:`ModelFailure`."""
        reply, raw, convo, calls = await self.ask_parsed(
            model, messages, deadline, parse_reply, reask
        )
        return Answered(model, reply, raw, convo, calls)


def _short(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ReplyStream:
    """Pulls the ``reply`` string out of a JSON answer while it is still arriving.

    ``feed`` takes the next raw chunk and returns the reply characters it
    completed (escapes decoded); ``done`` turns true at the closing quote.
    """

    _KEY = re.compile(r'"reply"\s*:\s*"')

    def __init__(self) -> None:
        self.raw = ""
        self._pos: int | None = None  # index in raw of the next reply character
        self.done = False

    def feed(self, chunk: str) -> str:
        self.raw += chunk
        if self.done:
            return ""
        if self._pos is None:
            match = self._KEY.search(self.raw)
            if match is None:
                return ""
            self._pos = match.end()
        out: list[str] = []
        raw, i = self.raw, self._pos
        while i < len(raw):
            ch = raw[i]
            if ch == '"':
                self.done = True
                i += 1
                break
            if ch == "\\":
                if i + 1 >= len(raw):
                    break  # the escape is not complete yet
                nxt = raw[i + 1]
                if nxt == "u":
                    if i + 6 > len(raw):
                        break
                    out.append(chr(int(raw[i + 2 : i + 6], 16)))
                    i += 6
                    continue
                out.append({"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}.get(nxt, nxt))
                i += 2
                continue
            out.append(ch)
            i += 1
        self._pos = i
        return "".join(out)


async def stream_completion(
    gateway: Gateway, model: str, messages: Sequence[Message], deadline: Deadline
) -> AsyncIterator[str]:
    """Raw content deltas of one streamed answer (no retries: callers fall back)."""
    kwargs = gateway.request_options(model, messages, deadline, stream=True)
    response = await asyncio.wait_for(litellm().acompletion(**kwargs), timeout=deadline.remaining())
    iterator = response.__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(iterator.__anext__(), timeout=deadline.remaining())
        except StopAsyncIteration:
            return
        choices = getattr(chunk, "choices", None) or []
        if not choices:
            continue
        delta = getattr(choices[0], "delta", None)
        content = getattr(delta, "content", None)
        if content:
            yield content
