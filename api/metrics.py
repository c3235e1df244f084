"""Prometheus metrics, one registry per app (tests build many apps in one process).

With several ``coach serve`` workers each process counts its own; scrape
each worker, or run one worker per container as usual behind a balancer.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from coach.schemas import CheckResult, CoachResult

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
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
        return generate_latest(self.registry)
