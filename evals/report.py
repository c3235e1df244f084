"""A readable, self-contained HTML report of one eval run (tables and inline SVG bar charts)."""

from __future__ import annotations

from html import escape
from typing import Any


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


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


SUMMARY_HEADERS = [
    "system",
    "pass",
    "guard pass",
    "techniques",
    "language",
    "new facts",
    "chrF++",
    "judge",
    "rules P",
    "rules R",
    "p50 ms",
]


def summary_cells(name: str, m: dict[str, Any]) -> list[str]:
    """One system's summary row (shared by the HTML report and the terminal table)."""
    r = m["rules"]["overall"]
    return [
        name,
        _pct(m["pass_rate"]),
        _pct(m["guard_pass_rate"]),
        _pct(m["technique_coverage"]),
        _pct(m["language_correct"]),
        _pct(m["new_facts_rate"]),
        _num(m["chrf"]),
        _num(m["judge"]),
        _pct(r["precision"]),
        _pct(r["recall"]),
        _num(m["latency_ms_p50"]),
    ]


def render(run: dict[str, Any]) -> str:
    primary = run["primary"]
    systems = run["systems"]
    out = [
        "<!doctype html><html><head><meta charset='utf-8'><title>reply-coach eval</title>",
        "<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:1100px}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
        "th{background:#f3f3f3}.fail{color:#b00020}.ok{color:#1b7f3a}pre{white-space:pre-wrap;margin:0}</style></head><body>",
        f"<h1>Eval run {escape(run['run']['label'])}</h1>",
        f"<p>gold: {escape(run['run']['gold'])} &middot; {run['run']['cases']} cases &middot; "
        f"prompt {escape(run['run'].get('prompt_version') or '–')} &middot; started {escape(run['run']['started'])}</p>",
        "<h2>Summary</h2>",
    ]
    rows = [
        [escape(c) for c in summary_cells(name, system["metrics"])]
        for name, system in systems.items()
    ]
    out.append(_table(SUMMARY_HEADERS, rows))
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
                    _num(v["chrf"]),
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
