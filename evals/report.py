"""A readable, self-contained HTML report of one eval run (tables and inline SVG bar charts)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import Any


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if value >= 10 else f"{value:.2g}"


# How a kind of figure is shown, and how a change of it is shown (compare).
_FORMATS: dict[str, Callable[[float | None], str]] = {
    "rate": _pct,
    "score": _score,
    "ratio": _num,
    "ms": _ms,
}
_DELTAS: dict[str, Callable[[float], str]] = {
    "rate": lambda d: f"{d * 100:+.1f} pp",
    "score": lambda d: f"{d:+.1f}",
    "ratio": lambda d: f"{d:+.3g}",
    "ms": lambda d: f"{d:+,.0f}" if abs(d) >= 10 else f"{d:+.2g}",
}


@dataclass(frozen=True)
class Metric:
    """One figure of a run: where it is in results.json, its label and how it is shown."""

    key: str  # its name in results.json metrics (and in compare's rows)
    label: str
    kind: str  # rate (0..1, shown as %), score (0..100), ratio (0..1), ms
    help: str
    path: tuple[str, ...] = ()  # where it is in the metrics when nested (default: the key)
    lower_is_better: bool = False
    summary: bool = True  # a row of the summary (terminal) and a column of the HTML report
    compared: bool = True  # a row of `coach eval compare`

    def value(self, metrics: dict[str, Any]) -> float | None:
        """The figure in one system's metrics; None where the run lacks it (an older run)."""
        node: Any = metrics
        for part in self.path or (self.key,):
            node = node.get(part) if isinstance(node, dict) else None
        return float(node) if isinstance(node, int | float) else None

    def cell(self, metrics: dict[str, Any]) -> str:
        return self.format(self.value(metrics))

    def format(self, value: float | None) -> str:
        return _FORMATS[self.kind](value)

    def format_delta(self, delta: float | None) -> str:
        if delta is None:
            return "–"
        return "0" if delta == 0 else _DELTAS[self.kind](delta)


CHRF_HELP = (
    "chrF++ (sacrebleu, 0..100): character 1- to 6-gram and word uni- and bigram overlap "
    "with the case's reference reply. A surface-overlap measure, not a judgement of quality "
    "or meaning: a good reply worded differently scores low. Language-independent and "
    "weight-free (no tokenizer, lexicon or model)."
)

# The one list of a run's figures: the terminal summary, the HTML report and compare.
METRICS: tuple[Metric, ...] = (
    Metric("pass_rate", "pass rate", "rate", "cases whose reply passes every assertion"),
    Metric(
        "guard_pass_rate",
        "guard pass",
        "rate",
        "replies the rules pass when re-checked independently",
    ),
    Metric(
        "technique_coverage",
        "technique coverage",
        "rate",
        "required de-escalation techniques the replies show",
    ),
    Metric("language_correct", "language correct", "rate", "replies in the case's language"),
    Metric(
        "new_facts_rate",
        "new facts",
        "rate",
        "replies stating facts the request does not (lower is better)",
        lower_is_better=True,
    ),
    Metric("chrf", "chrF++", "score", CHRF_HELP),
    Metric(
        "judge",
        "judge",
        "ratio",
        "LLM judge against the reference, both orders: 1 better, 0.5 tie, 0 worse (--judge)",
    ),
    Metric(
        "rules_precision",
        "rules precision",
        "rate",
        "the rules on the gold drafts against their labelled categories",
        path=("rules", "overall", "precision"),
        compared=False,
    ),
    Metric(
        "rules_recall",
        "rules recall",
        "rate",
        "the labelled categories of the gold drafts the rules find",
        path=("rules", "overall", "recall"),
        compared=False,
    ),
    Metric(
        "degraded_rate",
        "degraded",
        "rate",
        "answers from the rules coach after no model answered (lower is better)",
        lower_is_better=True,
        summary=False,
    ),
    Metric(
        "latency_ms_p50",
        "latency p50 ms",
        "ms",
        "median time per case in milliseconds (lower is better)",
        lower_is_better=True,
    ),
)
METRIC_BY_KEY = {m.key: m for m in METRICS}
SUMMARY_METRICS = [m for m in METRICS if m.summary]
# The terminal table's caption (the HTML report shows every metric's help).
SUMMARY_NOTE = (
    "chrF++: character n-gram (+ word bigram) overlap with the reference reply, 0..100; "
    "surface overlap, not quality or meaning. new facts, latency: lower is better."
)


def summary_cells(m: dict[str, Any]) -> list[str]:
    """One system's summary figures, in SUMMARY_METRICS order (HTML report and terminal)."""
    return [metric.cell(m) for metric in SUMMARY_METRICS]


def _bars(title: str, rows: list[tuple[str, float | None]]) -> str:
    """A horizontal bar chart of values in 0..1."""
    height = 22 * len(rows) + 30
    parts = [
        f'<svg width="520" height="{height}" role="img" aria-label="{escape(title)}">',
        f'<text x="0" y="16" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(rows):
        y = 30 + 22 * i
        width = 0 if value is None else int(300 * max(0.0, min(1.0, value)))
        parts.append(f'<text x="0" y="{y + 14}">{escape(label)}</text>')
        parts.append(f'<rect x="170" y="{y}" width="{width}" height="16" fill="#4a7bd0"/>')
        parts.append(f'<text x="{175 + width}" y="{y + 13}">{_pct(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render(run: dict[str, Any]) -> str:
    primary = run["primary"]
    systems = run["systems"]
    out = [
        "<!doctype html><html><head><meta charset='utf-8'><title>reply-coach eval</title>",
        "<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:1100px}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
        "th{background:#f3f3f3}.legend{font-size:13px;color:#444}.legend dt{font-weight:bold;float:left;clear:left;width:10em}"
        ".legend dd{margin:0 0 2px 10.5em}.fail{color:#b00020}.ok{color:#1b7f3a}pre{white-space:pre-wrap;margin:0}</style></head><body>",
        f"<h1>Eval run {escape(run['run']['label'])}</h1>",
        f"<p>gold: {escape(run['run']['gold'])} &middot; {run['run']['cases']} cases &middot; "
        f"prompt {escape(run['run'].get('prompt_version') or '–')} &middot; started {escape(run['run']['started'])}</p>",
        "<h2>Summary</h2>",
    ]
    rows = [
        [escape(c) for c in [name, *summary_cells(system["metrics"])]]
        for name, system in systems.items()
    ]
    out.append(_table(["system", *(m.label for m in SUMMARY_METRICS)], rows))
    out.append(
        "<dl class='legend'>"
        + "".join(f"<dt>{escape(m.label)}</dt><dd>{escape(m.help)}</dd>" for m in SUMMARY_METRICS)
        + "</dl>"
    )
    m = systems[primary]["metrics"]
    out.append("<h2>By language</h2>")
    out.append(
        _bars("pass rate by language", [(k, v["pass_rate"]) for k, v in m["by_language"].items()])
    )
    out.append(
        _table(
            ["language", "cases", "pass", "guard pass", "chrF++", "rules P", "rules R"],
            [
                [
                    escape(k),
                    str(v["cases"]),
                    _pct(v["pass_rate"]),
                    _pct(v["guard_pass_rate"]),
                    METRIC_BY_KEY["chrf"].format(v.get("chrf")),
                    _pct(m["rules"]["by_language"].get(k, {}).get("precision")),
                    _pct(m["rules"]["by_language"].get(k, {}).get("recall")),
                ]
                for k, v in m["by_language"].items()
            ],
        )
    )
    out.append("<h2>Rules on drafts, by category</h2>")
    cats = m["rules"]["by_category"]
    out.append(_bars("recall by category", [(k, v["recall"]) for k, v in cats.items()]))
    out.append(
        _table(
            ["category", "TP", "FP", "FN", "precision", "recall"],
            [
                [
                    escape(k),
                    str(v["tp"]),
                    str(v["fp"]),
                    str(v["fn"]),
                    _pct(v["precision"]),
                    _pct(v["recall"]),
                ]
                for k, v in cats.items()
            ],
        )
    )
    out.append("<h2>Techniques</h2>")
    out.append(
        _bars(
            "techniques shown when required", [(k, v["rate"]) for k, v in m["techniques"].items()]
        )
    )
    failing = [c for c in systems[primary]["cases"] if not c["passed"]]
    out.append(f"<h2>Failing cases ({len(failing)})</h2>")
    rows = []
    for case in failing:
        failed = "<br>".join(
            f"<span class='fail'>{escape(c['name'])}</span>"
            + (f": {escape(c['detail'])}" if c["detail"] else "")
            for c in case["checks"]
            if not c["passed"]
        )
        rows.append(
            [
                escape(case["id"]),
                escape(case["language"]),
                failed,
                f"<pre>{escape(case['reply'])}</pre>",
                f"<pre>{escape(case['reference_reply'])}</pre>",
            ]
        )
    out.append(_table(["case", "lang", "failed assertions (why)", "reply", "reference"], rows))
    out.append("</body></html>")
    return "".join(out)
