"""Writing result tables as CSV (full precision), Markdown (reading) and LaTeX (papers).

CSV keeps every digit for further processing; the Markdown and LaTeX versions are
rounded for people: p-values with three significant digits (``< 0.001`` below that),
other real numbers with three decimals, flags as ``yes``/``no``, missing values as an
en dash. Method names contain underscores, so LaTeX text is escaped.
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path

import numpy as np
import pandas as pd

FORMATS = ("csv", "md", "tex")
_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def format_value(value, column: str) -> str:
    """One cell as text for people; ``column`` decides p-value formatting (``p_*``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "\N{EN DASH}"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        if column == "p_value" or column.startswith("p_"):
            return "< 0.001" if value < 0.001 else f"{value:.3g}"
        return f"{value:.3f}"
    return str(value)


def _text_rows(frame: pd.DataFrame) -> list[list[str]]:
    columns = list(frame.columns)
    return [
        [format_value(v, str(c)) for v, c in zip(row, columns)]
        for row in frame.itertuples(index=False)
    ]


def is_numeric(frame: pd.DataFrame, column) -> bool:
    return pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(
        frame[column]
    )


def to_markdown(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table; numeric columns right-aligned."""
    header = [str(c).replace("|", r"\|") for c in frame.columns]
    align = ["---:" if is_numeric(frame, c) else ":---" for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    for row in _text_rows(frame):
        lines.append("| " + " | ".join(cell.replace("|", r"\|") for cell in row) + " |")
    return "\n".join(lines) + "\n"


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters in plain text."""
    return "".join(_LATEX_SPECIALS.get(ch, ch) for ch in text)


def to_latex(frame: pd.DataFrame, caption: str | None = None, label: str | None = None) -> str:
    """A ``booktabs`` table (``\\toprule``/``\\midrule``/``\\bottomrule``) in a ``table`` float."""
    spec = "".join("r" if is_numeric(frame, c) else "l" for c in frame.columns)
    lines = [r"\begin{table}[t]", r"\centering"]
    if caption:
        lines.append(r"\caption{" + latex_escape(caption) + "}")
    if label:
        lines.append(r"\label{" + label + "}")
    lines += [
        r"\begin{tabular}{" + spec + "}",
        r"\toprule",
        " & ".join(latex_escape(str(c)) for c in frame.columns) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(latex_escape(cell) for cell in row) + r" \\" for row in _text_rows(frame)]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def write_table(
    frame: pd.DataFrame,
    out_dir: str | Path,
    name: str,
    caption: str | None = None,
    formats: tuple[str, ...] = FORMATS,
) -> list[Path]:
    """Write ``frame`` as ``<out_dir>/<name>.csv``, ``.md`` and ``.tex``; return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown table format(s) {unknown}; choose from {', '.join(FORMATS)}")
    paths = []
    for fmt in formats:
        path = out_dir / f"{name}.{fmt}"
        if fmt == "csv":
            frame.to_csv(path, index=False)
        elif fmt == "md":
            path.write_text(
                (f"**{caption}**\n\n" if caption else "") + to_markdown(frame), encoding="utf-8"
            )
        else:
            path.write_text(to_latex(frame, caption, label=f"tab:{name}"), encoding="utf-8")
        paths.append(path)
    return paths
