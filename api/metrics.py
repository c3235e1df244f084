"""Prometheus metrics, one registry per app (tests build many apps in one process).

With several workers (``coach serve --workers N``) prometheus_client's multiprocess
mode is on: ``PROMETHEUS_MULTIPROC_DIR`` (``coach serve`` makes a fresh one when N > 1
and it is unset; one given is emptied at start) holds each worker's values in files, and
``/metrics`` on any worker adds up all of them. The variable must be set before
prometheus_client is imported, which the workers, started afresh, always do.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from coach.schemas import CheckResult, CoachResult

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get(MULTIPROC_DIR))
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "coach_http_requests", "HTTP requests", ["method", "route", "status"], registry=r
        )
        self.latency = Histogram(
            "coach_http_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.llm_calls = Counter(
            "coach_llm_calls",
            "model answers received or failed, by outcome",
            ["model", "outcome"],
            registry=r,
        )
        self.reasks = Counter(
            "coach_reasks", "re-asks of a model reply that broke a rule", registry=r
        )
        self.fallbacks = Counter(
            "coach_rules_fallbacks",
            "suggestions from the rules coach standing in for a model",
            registry=r,
        )
        self.degraded = Counter("coach_degraded", "suggestions marked degraded", registry=r)
        self.violations = Counter(
            "coach_violations",
            "rule violations found, by category and severity",
            ["category", "severity", "source"],
            registry=r,
        )
        self.feedback = Counter(
            "coach_feedback", "feedback stored, by action", ["action"], registry=r
        )
        self.redis_failures = Counter(
            "coach_redis_failures",
            "calls to Redis (COACH_REDIS_URL) that failed or timed out; limits fell back to the process",
            registry=r,
        )
        self.redis_up = Gauge(
            "coach_redis_up",
            "1 while Redis answers, 0 during an outage (absent without COACH_REDIS_URL)",
            registry=r,
            multiprocess_mode="livemin",  # with several workers: 0 when any of them sees it down
        )
        # Labelled children by their label values: ``labels()`` validates and locks on
        # every call, a dict lookup does not (the children are the same objects).
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._violation_children: dict[tuple[str, str, str], Any] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._request_children.get(key)
        if children is None:
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(route),
            )
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def record_check(self, result: CheckResult, source: str) -> None:
        for v in result.violations:
            key = (v.category.value, v.severity.value, source)
            child = self._violation_children.get(key)
            if child is None:
                child = self._violation_children[key] = self.violations.labels(*key)
            child.inc()

    def record_coach(self, result: CoachResult) -> None:
        if result.draft_check is not None:
            self.record_check(result.draft_check, "draft")
        for attempt in result.attempts:
            self.llm_calls.labels(attempt.model, attempt.outcome).inc()
            if attempt.outcome == "reask":
                self.reasks.inc()
        if result.degraded:
            self.degraded.inc()
            if result.model == "rules":
                self.fallbacks.inc()

    def render(self) -> bytes:
        if self.multiprocess:
            # Every worker's files (this one's included), not this process's registry alone.
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)

    def close(self) -> None:
        """A worker's end: its live gauges leave the sum (counters stay counted)."""
        if self.multiprocess:
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
