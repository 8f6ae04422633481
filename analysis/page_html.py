"""The HTML of the companion page (``python -m analysis page``): one self-contained file.

Everything the page shows is plain HTML with inline style; the only script pauses the
other players when one starts. Each passage is a row of cards, one per method, that
wrap onto the next line on a narrow screen: every method stays in view without
scrolling sideways, from a phone to a desktop. Every text from a manifest, a config or a table is
escaped. Audio, figures and the analysis's files are linked by relative paths, so the
folder works from ``file://`` and from any static host.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

import dmc
from analysis.pipeline import TABLES
from analysis.tables import format_value, is_numeric
from dmc.contracts import conditions
from dmc.contracts.conditions import (
    BUILT_IN_METHODS,
    KIND_ANCHOR,
    KIND_REFERENCE,
    KIND_SYSTEM,
    display_order,
)
from dmc.contracts.manifest import Manifest
from dmc.render.references import DECODED_MP3
from dmc.render.report import SUMMARY_COLUMNS, summary_frame

#: Marks an ``index.html`` as this command's, so a re-run may replace its folder.
#: (The content names the command that first wrote such pages: pages it made are still ours.)
GENERATOR = '<meta name="generator" content="dmc.render page">'
#: Objective metrics shown per task (all of them are in the render's metrics.csv).
METRICS = (
    "sd_mrstft", "centroid_error_hz", "contrast_error_db", "panning_error", "balance_error_db",
    "rms_error_db", "crest_factor_error_db",
)  # fmt: skip
#: The analysis's tables the page shows, and their columns (the rest stay in the CSV files).
TABLE_COLUMNS = {
    "descriptives": (
        "task", "method", "ratings", "raters", "median", "iqr", "mean", "ci_low", "ci_high",
    ),
    "friedman": ("task", "blocks", "methods", "statistic", "p_value", "kendalls_w"),
    "wilcoxon": (
        "task", "method_a", "method_b", "median_difference", "p_holm", "significant",
        "rank_biserial",
    ),
}  # fmt: skip
STYLE = """
* { box-sizing: border-box; }
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.8em; }
.authors { font-size: 1.1em; color: #444; } .abstract { max-width: 52em; line-height: 1.45; }
.scroll { overflow-x: auto; } table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { padding: 4px 8px; border-bottom: 1px solid #eee; vertical-align: top; text-align: left; }
th { background: #f4f4f4; } td.num, th.num { text-align: right; }
.passage { border-bottom: 1px solid #eee; padding: 0.6em 0; }
.cards { display: flex; flex-wrap: wrap; gap: 0.5em; margin-top: 0.3em; }
.card { flex: 1 1 13em; max-width: 19em; min-width: 0; background: #fafafa; border: 1px solid #e4e4e4;
  border-radius: 6px; padding: 0.4em 0.5em; }
.card.reference { background: #f0f4fa; } .card.anchor { background: #f4f4f4; }
.card .name { font-weight: 600; font-size: 0.9em; } audio { width: 100%; height: 36px; display: block; }
.metric { color: #666; font-size: 0.8em; } .caption { color: #555; font-size: 0.9em; } img { max-width: 100%; }
"""
SCRIPT = (
    "document.addEventListener('play', function (event) {"
    " document.querySelectorAll('audio').forEach(function (player) {"
    " if (player !== event.target) { player.pause(); } }); }, true);"
)


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _number(value, column: str) -> str:
    """The report's cell text (:func:`analysis.tables.format_value`), but large figures
    without decimals and flags read back from CSV as text still as yes / no."""
    if str(value) in ("True", "False"):
        return "yes" if str(value) == "True" else "no"
    if isinstance(value, float) and not column.startswith("p_") and abs(value) >= 100:
        return f"{value:.0f}"
    return format_value(value, column)


def table(frame: pd.DataFrame, labels: dict[str, str] | None = None) -> str:
    """``frame`` as an HTML table, numbers right-aligned and rounded for reading."""
    labels = labels or {}
    numeric = {c: is_numeric(frame, c) for c in frame}
    head = "".join(
        f'<th class="{"num" if numeric[c] else ""}">{_e(labels.get(c, c))}</th>'
        for c in frame.columns
    )
    rows = []
    for record in frame.to_dict("records"):
        cells = "".join(
            f'<td class="{"num" if numeric[c] else ""}">{_e(_number(record[c], str(c)))}</td>'
            for c in frame.columns
        )
        rows.append(f"<tr>{cells}</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _imported(manifest: Manifest, task: str | None = None) -> list:
    """Every imported condition (``python -m dmc.render import``), of one task or all."""
    return [
        c
        for name, entries in manifest.tasks.items() if task in (None, name)
        for e in entries for c in e.conditions if c.extra.get("imported")
    ]  # fmt: skip


def _description(method: str, manifest: Manifest, task: str, overrides: dict[str, str]) -> str:
    if method in overrides:
        return overrides[method]
    if method in BUILT_IN_METHODS:
        return conditions.method(method).description
    sources = {
        c.extra["imported"].get("source", "")
        for c in _imported(manifest, task)
        if c.method == method
    }
    return "an imported system" + (
        f" ({len(sources)} file(s), e.g. {min(sources)})" if sources else ""
    )


def _task_section(task: str, manifest: Manifest, config, audio: dict, frame: pd.DataFrame) -> str:
    entries = manifest.passages(task)
    methods = display_order(manifest.methods(task))
    scores = {
        (r["passage_id"], r["method"]): r["sd_mrstft"]
        for r in frame.to_dict("records")
        if r["task"] == task
    }
    legend = "".join(
        f"<li><b>{_e(m)}</b>: {_e(_description(m, manifest, task, config.methods))}</li>"
        for m in methods
    )
    rows = []
    for entry in entries:
        end = entry.start_seconds + entry.length_seconds
        cards = []
        for method in methods:
            path = audio.get((task, entry.passage_id, method))
            if path is None:
                continue
            score = scores.get((entry.passage_id, method))
            note = (
                ""
                if score is None or score != score
                else f"<span class='metric'>MR-STFT {score:.3f}</span>"
            )
            kind = _kind(method)
            cards.append(
                f'<div class="card {kind}"><div class="name">{_e(method)}</div>'
                f'<audio controls preload="metadata" src="{_e(path)}"></audio>{note}</div>'
            )
        rows.append(
            f'<div class="passage"><b>{_e(entry.song_id)}</b> '
            f"<span class='metric'>{entry.start_seconds:.1f}-{end:.1f} s</span>"
            f'<div class="cards">{"".join(cards)}</div></div>'
        )
    heading = config.tasks.get(task, f"Task: {task}")
    return (
        f'<h2 id="task-{_e(task)}">{_e(heading)}</h2><ul>{legend}</ul>{"".join(rows)}'
        "<p class='caption'>Every mix is loudness-normalised to the same level (BS.1770), as listeners heard it; "
        "MR-STFT: distance to the reference (smaller is closer).</p>"
    )


def _kind(method: str) -> str:
    """``reference``, ``anchor`` or ``system``: how a card is shaded."""
    kind = conditions.method(method).kind if method in BUILT_IN_METHODS else KIND_SYSTEM
    return kind if kind in (KIND_REFERENCE, KIND_ANCHOR) else KIND_SYSTEM


def _metrics_section(manifest: Manifest, frame: pd.DataFrame, figure: str | None) -> str:
    if frame.empty:
        return "<h2 id='metrics'>Objective metrics</h2><p>No metrics: the render has no reference mix to compare with.</p>"
    stand_in = sorted(
        {
            c.method
            for c in _imported(manifest)
            if c.extra["imported"].get("metrics_reference") == DECODED_MP3
        }
    )
    caption = "Mean error against the reference per method (smaller is better), every method against the same reference."
    if stand_in:
        caption += (
            f" Not so for {', '.join(stand_in)}: scored against the decoded reference MP3, which its codec's "
            "low-pass alone puts about 1 away in MR-STFT."
        )
    parts = [f"<h2 id='metrics'>Objective metrics</h2><p class='caption'>{_e(caption)}</p>"]
    summary = summary_frame(frame)
    columns = [c for c in METRICS if c in summary]
    for task, rows in summary.groupby("task", sort=False):
        shown = rows[["method", "passages", *columns]].reset_index(drop=True)
        parts.append(f"<h3>{_e(task)}</h3>" + table(shown, SUMMARY_COLUMNS))
    if figure:
        parts.append(f'<img src="{_e(figure)}" alt="MR-STFT distance per task and method">')
    return "".join(parts)


def _analysis_section(analysis_dir: Path, out_dir: Path) -> str:
    base = analysis_dir.relative_to(out_dir).as_posix()
    parts = ["<h2 id='listening-test'>Listening test</h2>"]
    if (analysis_dir / "boxplots.png").is_file():
        parts.append(f'<img src="{_e(base)}/boxplots.png" alt="ratings per task and method">')
    for _, name, caption in TABLES:
        path = analysis_dir / f"{name}.csv"
        if name in TABLE_COLUMNS and path.is_file():
            frame = pd.read_csv(path)
            frame = frame[[c for c in TABLE_COLUMNS[name] if c in frame.columns]]
            parts.append(f"<h3>{_e(caption)}</h3>" + table(frame))
    if (analysis_dir / "report.html").is_file():
        parts.append(
            f'<p><a href="{_e(base)}/report.html">The whole analysis</a> (screening, every table and view).</p>'
        )
    return "".join(parts)


def render(
    manifest: Manifest,
    config,
    audio: dict,
    frame: pd.DataFrame,
    figure,
    analysis_dir,
    out_dir: Path,
) -> str:
    """The whole ``index.html``."""
    parts = [f"<h1>{_e(config.title)}</h1>"]
    if config.authors:
        parts.append(f"<p class='authors'>{_e(', '.join(config.authors))}</p>")
    if config.links:
        parts.append(
            "<p>"
            + " | ".join(f'<a href="{_e(url)}">{_e(text)}</a>' for text, url in config.links)
            + "</p>"
        )
    for paragraph in [p for p in config.abstract.split("\n\n") if p.strip()]:
        parts.append(f"<p class='abstract'>{_e(' '.join(paragraph.split()))}</p>")
    sections = [(f"task-{t}", config.tasks.get(t, f"Task: {t}")) for t in manifest.tasks]
    sections.append(("metrics", "Objective metrics"))
    if analysis_dir is not None:
        sections.append(("listening-test", "Listening test"))
    parts.append(
        "<nav><ul>"
        + "".join(f'<li><a href="#{_e(a)}">{_e(t)}</a></li>' for a, t in sections)
        + "</ul></nav>"
    )
    parts += [_task_section(task, manifest, config, audio, frame) for task in manifest.tasks]
    parts.append(_metrics_section(manifest, frame, figure))
    if analysis_dir is not None:
        parts.append(_analysis_section(analysis_dir, out_dir))
    footer = (
        f"Made with dmc {_e(dmc.__version__)} (<code>python -m analysis page</code>) from a render of "
        f"{_e(manifest.created_at)}: every mix at {manifest.loudness.target_lufs:g} LUFS, VBR MP3."
    )
    if config.footer:
        footer += f"<br>{_e(config.footer)}"
    parts.append(f"<hr><p class='caption'>{footer}</p>")
    head = f"<meta charset='utf-8'>{GENERATOR}<meta name='viewport' content='width=device-width, initial-scale=1'>"
    return (
        f"<!DOCTYPE html><html lang='en'><head>{head}<title>{_e(config.title)}</title><style>{STYLE}</style></head>"
        f"<body>{''.join(parts)}<script>{SCRIPT}</script></body></html>\n"
    )
