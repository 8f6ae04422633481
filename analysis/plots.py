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

from dmc import figures
from dmc.contracts.conditions import sort_methods

FIGURE_FORMATS = ("png", "pdf")


def _raters_title(task: str, rows: pd.DataFrame) -> str:
    raters = rows["rater_id"].nunique()
    return f"{task} ({raters} rater{'s' if raters != 1 else ''})"


def boxplot_figure(ratings: pd.DataFrame, title: str | None = None, seed: int = 0) -> Figure:
    """The paper's figure: one panel per task, methods on x in display order, ratings 0-1.

    Args:
        ratings: scored ratings (after screening).
        title: figure title, e.g. to mark simulated data.
        seed: seed of the horizontal jitter, so figures are reproducible.
    """
    return figures.box_plot(
        ratings, "rating", ylabel="rating", title=title, panel_title=_raters_title,
        quality_scale=True, seed=seed, empty_text="no ratings",
    )  # fmt: skip


def passage_figure(passages: pd.DataFrame, title: str | None = None) -> Figure:
    """Mean rating per passage and method, one panel per task, passages sorted as given.

    Reads the output of :func:`analysis.views.passage_view`: rows with the largest
    Kendall's W (the passages that separate the methods most) come first.
    """
    panels = []
    for task in dict.fromkeys(passages["task"]):
        rows = passages.loc[passages["task"] == task]
        methods = [
            m
            for m in sort_methods(
                passages.columns.drop(["task", "passage_id", "kendalls_w"], errors="ignore")
            )
            if rows[m].notna().any()
        ]
        labels = [
            f"{p}  W={w:.2f}" if np.isfinite(w) else str(p)
            for p, w in zip(rows["passage_id"], rows["kendalls_w"])
        ]
        matrix = pd.DataFrame(rows[methods].to_numpy(dtype=float), index=labels, columns=methods)
        panels.append((f"{task}: mean rating per passage", matrix))
    return figures.heat_maps(panels, title=title)


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
