"""A one-page HTML report of the listening test: screening, figures and every table.

    python analysis/report.py [--ratings FILE | --db URL] [--out DIR]

The page is self-contained (figures embedded as PNG data), so it can be mailed or
archived beside the ratings. The separate PNG/PDF figures and CSV/Markdown/LaTeX
tables are written to the same folder.
"""

from __future__ import annotations

import base64
import html
import sys
from datetime import UTC, datetime
from pathlib import Path

from analysis import cli, pipeline
from analysis.tables import format_value

PROG = "report"
TITLE = "Listening test analysis"

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.6em 0; }
th, td { padding: 2px 8px; border-bottom: 1px solid #eee; text-align: right; }
th { background: #f4f4f4; } td.text, th.text { text-align: left; }
img { max-width: 100%; } .banner { background: #fde2e1; padding: 0.6em; font-weight: bold; }
.caption { color: #555; font-size: 0.9em; } pre { background: #f7f7f7; padding: 0.6em; }
"""


def html_table(frame, max_rows: int = 200) -> str:
    """``frame`` as an HTML table with the same rounding as the Markdown tables."""
    columns = list(frame.columns)
    kind = {c: "num" if frame[c].dtype.kind in "iuf" else "text" for c in columns}
    head = "".join(f'<th class="{kind[c]}">{html.escape(str(c))}</th>' for c in columns)
    body = []
    for row in frame.head(max_rows).itertuples(index=False):
        cells = "".join(
            f'<td class="{kind[c]}">{html.escape(format_value(v, str(c)))}</td>'
            for v, c in zip(row, columns)
        )
        body.append(f"<tr>{cells}</tr>")
    more = (
        f"<p class='caption'>first {max_rows} of {len(frame)} rows; all in the CSV</p>"
        if len(frame) > max_rows
        else ""
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def _image(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def render_html(analysis: pipeline.Analysis, figures: dict[str, Path]) -> str:
    """The report page for a computed :class:`analysis.pipeline.Analysis`."""
    options, ratings = analysis.options, analysis.ratings
    intro = (
        f"<h1>{TITLE}</h1><p class='caption'>{html.escape(analysis.source)}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {len(ratings)} ratings by "
        f"{ratings['rater_id'].nunique()} raters after screening; "
        f"{options.n_resamples} resamples, seed {options.seed}, alpha {options.alpha:g}</p>"
    )
    parts = [intro]
    if analysis.title:
        parts.append(f"<p class='banner'>{html.escape(analysis.title)}</p>")
    parts.append(
        "<h2>Post-screening</h2><pre>"
        + html.escape("\n".join(analysis.screening.summary()))
        + "</pre>"
    )
    parts.append(html_table(analysis.screening.report))
    parts.append("<h2>Ratings per task and method</h2>" + _image(figures["boxplots"], "box plots"))
    for attribute, _, caption in pipeline.TABLES:
        if attribute == "passages":
            parts.append(
                "<h2>Passages</h2>" + _image(figures["passages"], "mean rating per passage")
            )
        elif attribute == "raters":
            parts.append("<h2>Raters</h2>" + _image(figures["raters"], "mean rating per rater"))
        elif attribute == "descriptives":
            parts.append("<h2>Statistics</h2>")
        parts.append(
            f"<p class='caption'>{html.escape(caption)}</p>"
            + html_table(getattr(analysis, attribute))
        )
    body = "\n".join(parts)
    head = f"<meta charset='utf-8'><title>{TITLE}</title><style>{_STYLE}</style>"
    return f"<!DOCTYPE html><html lang='en'><head>{head}</head><body>{body}</body></html>\n"


def write_report(analysis: pipeline.Analysis, out_dir: str | Path) -> list[Path]:
    """Every figure and table of ``analysis`` into ``out_dir``, and ``report.html`` beside them."""
    figures = pipeline.write_boxplots(analysis, out_dir) + pipeline.write_view_figures(
        analysis, out_dir
    )
    tables = pipeline.write_tables(analysis, out_dir)
    pngs = {p.stem: p for p in figures if p.suffix == ".png"}
    report = Path(out_dir) / "report.html"
    report.write_text(render_html(analysis, pngs), encoding="utf-8")
    return [*figures, *tables, report]


def get_parser():
    parser = cli.base_parser(
        PROG, "One-page HTML report: screening, box plots, tests, agreement, views."
    )
    cli.add_resamples_argument(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = get_parser().parse_args(argv)

    def body() -> int:
        ratings, source = cli.load_from_args(args)
        analysis = pipeline.analyse(
            ratings, cli.options_from_args(args, n_resamples=args.resamples), source
        )
        for line in analysis.screening.summary():
            print(line)
        cli.print_paths("wrote", write_report(analysis, args.out))
        return 0

    return cli.run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
