"""Figures of the analysis: the paper's box plots, and per-passage and per-rater heat maps.

All drawing goes through :mod:`dmc.figures` (seaborn, the project's one figure style).
Every figure is written as PNG (for the HTML report and quick looks) and PDF (vector,
for papers).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.ratings import ordered_methods
from analysis.screening import ScreeningResult
from dmc import figures

FIGURE_FORMATS = ("png", "pdf")


def _raters_title(task: str, rows: pd.DataFrame) -> str:
    raters = rows["rater_id"].nunique()
    return f"{task} ({raters} rater{'s' if raters != 1 else ''})"


def _box_label(method: str, rows: pd.DataFrame, panel_raters: int) -> str:
    """``method`` over its number of ratings; its raters too when fewer than the panel's."""
    raters = rows["rater_id"].nunique()
    fewer = f", {raters} rater{'s' if raters != 1 else ''}" if raters < panel_raters else ""
    return f"{method}\nn={len(rows)}{fewer}"


def screening_caption(screening: ScreeningResult) -> str:
    """One line on who the post-screening kept and excluded (or would have)."""
    total, out = len(screening.report), len(screening.excluded)
    if not screening.applied:
        return f"screening off: all {total} raters shown ({out} would be excluded by BS.1534-3)"
    return f"{total - out} of {total} raters kept; {out} excluded by BS.1534-3 post-screening"


def boxplot_figure(
    ratings: pd.DataFrame,
    title: str | None = None,
    seed: int = 0,
    screening: ScreeningResult | None = None,
) -> Figure:
    """The paper's figure: one panel per task, methods on x in display order, ratings 0-1.

    Each box is labelled with its number of ratings ``n`` (and its raters when fewer
    than the panel's); each panel title gives the task's raters, the figure title how
    many raters the screening excluded. The reference and the anchors are grey.

    Args:
        ratings: scored ratings (after screening).
        title: figure title, e.g. to mark simulated data.
        seed: seed of the horizontal jitter, so figures are reproducible.
        screening: the screening that produced ``ratings``, for the exclusions line.
    """
    panel_raters = {
        task: rows["rater_id"].nunique() for task, rows in ratings.groupby("task", sort=False)
    }
    lines = [t for t in (title, screening and screening_caption(screening)) if t]

    def label(method: str, rows: pd.DataFrame) -> str:
        return _box_label(method, rows, panel_raters[rows["task"].iloc[0]])

    return figures.box_plot(
        ratings, "rating", ylabel="rating", title="\n".join(lines) or None,
        panel_title=_raters_title, quality_scale=True, tick_label=label, seed=seed,
        empty_text="no ratings",
    )  # fmt: skip


def passage_matrices(
    passages: pd.DataFrame, ratings: pd.DataFrame
) -> list[tuple[str, pd.DataFrame]]:
    """The panels of :func:`passage_figure`: per task, mean rating per passage x method.

    The columns are the task's methods as the *ratings* name them, in display order;
    the other columns of the passages table (``raters``, ``p_value``, ...) are never
    taken for methods, whatever their names. Rows follow ``passages`` and are labelled
    with the passage and its Kendall's W.
    """
    panels = []
    for task in dict.fromkeys(passages["task"]):
        rows = passages.loc[passages["task"] == task]
        methods = ordered_methods(ratings.loc[ratings["task"].to_numpy() == task])
        missing = [m for m in methods if m not in rows.columns]
        if missing:
            raise ValueError(f"the passages table of {task!r} lacks method column(s) {missing}")
        labels = [
            f"{p}  W={w:.2f}" if np.isfinite(w) else str(p)
            for p, w in zip(rows["passage_id"], rows["kendalls_w"])
        ]
        matrix = pd.DataFrame(rows[methods].to_numpy(dtype=float), index=labels, columns=methods)
        panels.append((f"{task}: mean rating per passage", matrix))
    return panels


def passage_figure(
    passages: pd.DataFrame, ratings: pd.DataFrame, title: str | None = None
) -> Figure:
    """Mean rating per passage and method, one panel per task, passages sorted as given.

    Reads the output of :func:`analysis.views.passage_view` and the ratings it came
    from (which name the methods, :func:`passage_matrices`): rows with the largest
    Kendall's W (the passages that separate the methods most) come first.
    """
    return figures.heat_maps(passage_matrices(passages, ratings), title=title)


def rater_figure(raters: pd.DataFrame, title: str | None = None) -> Figure:
    """Each rater's mean rating per ``task:method``; excluded raters marked with ``(x)``.

    Reads the output of :func:`analysis.views.rater_view`.
    """
    cells = [c for c in raters.columns if ":" in str(c)]
    excluded = (
        raters["excluded"].fillna(False).to_numpy(dtype=bool)
        if "excluded" in raters
        else np.zeros(len(raters), bool)
    )
    labels = [f"{r} (x)" if x else str(r) for r, x in zip(raters["rater_id"], excluded)]
    matrix = pd.DataFrame(raters[cells].to_numpy(dtype=float), index=labels, columns=cells)
    figure = figures.heat_map(matrix, title="mean rating per rater ((x): excluded by screening)")
    if title:
        figure.suptitle(title)
    return figure


def save_figure(
    fig: Figure,
    out_dir: str | Path,
    name: str,
    formats: tuple[str, ...] = FIGURE_FORMATS,
    dpi: int = 150,
) -> list[Path]:
    """Write ``fig`` as ``<out_dir>/<name>.png`` and ``.pdf``; return the paths."""
    return figures.save(fig, Path(out_dir) / name, formats, dpi=dpi)
