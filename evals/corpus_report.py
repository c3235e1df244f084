"""``coach eval --corpus``: the detectors' recall on the blind corpus, as terminal tables
(80 columns) and a self-contained HTML page."""

from __future__ import annotations

from html import escape
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from evals.report import _bars, _pct, _table
from rules import Category

# Short column names for the category matrix (the legend spells them out).
SHORT = {
    Category.DISMISSIVE: "dism",
    Category.POLICY_SHIELD: "poli",
    Category.HELPLESS: "help",
    Category.BLAME: "blam",
    Category.BRUSH_OFF: "brus",
    Category.RUNAROUND: "runa",
    Category.OVER_PROMISE: "over",
    Category.FALSE_APOLOGY: "fapo",
    Category.HOSTILE: "host",
}
LEGEND = (
    "recall: a labelled category counts as found when a finding of that category is in the "
    "line (block or warn). clean blocked / flagged: clean lines with a blocking finding / any "
    "finding. Categories: " + ", ".join(f"{v} = {k.value}" for k, v in SHORT.items()) + "."
)


def _cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def corpus_tables(result: dict[str, Any]) -> Group:
    parts: list[Any] = []
    for split, by_language in result["splits"].items():
        summary = Table(title=f"{split} split", title_justify="left")
        for header in ("lang", "violating", "recall", "lines", "clean", "blocked", "flagged"):
            summary.add_column(header, justify="left" if header == "lang" else "right")
        for lang, cell in by_language.items():
            summary.add_row(
                lang,
                str(cell["violating"]),
                _cell(cell["category_recall"]),
                _cell(cell["line_recall"]),
                str(cell["clean"]),
                _cell(cell["clean_blocked"]),
                _cell(cell["clean_flagged"]),
            )
        matrix = Table(title=f"{split}: recall by category", title_justify="left")
        matrix.add_column("lang")
        for category in Category:
            matrix.add_column(SHORT[category], justify="right")
        for lang, cell in by_language.items():
            row = cell["by_category"]
            matrix.add_row(lang, *(_cell(row.get(c.value, {}).get("recall")) for c in Category))
        parts.extend([summary, matrix])
    parts.append(Text(LEGEND, overflow="fold"))
    return Group(*parts)


def _detector_rows(result: dict[str, Any], split: str) -> tuple[list[str], list[list[str]]]:
    """A row per language (and all): each detector's category recall, then each one's clean
    lines blocked / flagged. The terminal table and the HTML report show the same rows."""
    detectors = result["detectors"]
    headers = ["lang", *detectors, *(f"{name} clean" for name in detectors)]
    rows = []
    for lang in next(iter(detectors.values())).get(split, {}):
        cells = [detectors[name][split].get(lang, {}) for name in detectors]
        rows.append(
            [lang]
            + [_cell(c.get("category_recall")) for c in cells]
            + [f"{_cell(c.get('clean_blocked'))}/{_cell(c.get('clean_flagged'))}" for c in cells]
        )
    return headers, rows


def detector_table(result: dict[str, Any]) -> Group:
    """What each detector adds: per split, a row per language with each detector's category
    recall and its clean lines blocked / flagged."""
    parts: list[Any] = []
    for split in next(iter(result["detectors"].values())):
        headers, rows = _detector_rows(result, split)
        table = Table(title=f"{split}: by detector", title_justify="left")
        table.add_column(headers[0])
        for header in headers[1:]:
            table.add_column(header, justify="right")
        for row in rows:
            table.add_row(*row)
        parts.append(table)
    parts.append(
        Text("clean: clean lines blocked / with any finding, by detector.", overflow="fold")
    )
    return Group(*parts)


def render_corpus(result: dict[str, Any]) -> str:
    out = [
        "<!doctype html><html><head><meta charset='utf-8'><title>reply-coach corpus</title>",
        "<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:1100px}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px}"
        "th{background:#f3f3f3}</style></head><body>",
        "<h1>Detection on the blind corpus</h1>",
        f"<p>{escape(result['corpus'])} &middot; {result['lines']} lines &middot; detector "
        f"{escape(result['detector'])}. Lines were written by helpers who never saw the rule "
        "packs; the split is fixed by a hash of each id. Rules are tuned on train and dev only; "
        "the test split's numbers are the ones to quote.</p>",
        f"<p>{escape(LEGEND)}</p>",
    ]
    for split in result["splits"]:
        if len(result.get("detectors", {})) > 1:
            headers, rows = _detector_rows(result, split)
            out.append(f"<h2>{escape(split)} split: by detector</h2>")
            out.append(_table(headers, [[escape(c) for c in row] for row in rows]))
    for split, by_language in result["splits"].items():
        out.append(f"<h2>{escape(split)} split</h2>")
        out.append(
            _bars(
                f"{split}: category recall by language",
                [(k, v["category_recall"]) for k, v in by_language.items()],
            )
        )
        out.append(
            _table(
                ["language", "violating", "category recall", "line recall", "clean",
                 "clean blocked", "clean flagged"],
                [
                    [escape(k), str(v["violating"]), _pct(v["category_recall"]),
                     _pct(v["line_recall"]), str(v["clean"]), _pct(v["clean_blocked"]),
                     _pct(v["clean_flagged"])]
                    for k, v in by_language.items()
                ],
            )
        )  # fmt: skip
        out.append(
            _table(
                ["language", *(c.value for c in Category)],
                [
                    [escape(k), *(_pct(v["by_category"].get(c.value, {}).get("recall")) for c in Category)]
                    for k, v in by_language.items()
                ],
            )
        )  # fmt: skip
    out.append("</body></html>")
    return "".join(out)
