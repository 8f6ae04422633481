"""Figures of the analysis: the paper's box plots, and per-passage and per-rater heat maps.

Figures are built on :class:`matplotlib.figure.Figure` directly (no ``pyplot``), so
drawing needs no display, leaves no global state behind and is safe in tests and
servers. Every figure is written as PNG (for the HTML report and quick looks) and PDF
(vector, for papers); the points of the box plots are rasterised so a PDF of 100,000
ratings stays small.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.ratings import ordered_methods, ordered_tasks
from dmc.contracts.conditions import sort_methods

#: The five equal bands of the BS.1534-3 continuous quality scale on 0-1, bottom up.
BANDS = ("Bad", "Poor", "Fair", "Good", "Excellent")
FIGURE_FORMATS = ("png", "pdf")
_BOX_COLOR = "#4C72B0"


def _jitter_alpha(count: int) -> float:
    return float(np.clip(8.0 / np.sqrt(max(count, 1)), 0.04, 0.6))


def _draw_bands(ax, label: bool) -> None:
    for edge in np.arange(0.2, 1.0, 0.2):
        ax.axhline(edge, color="0.85", linewidth=0.8, zorder=0)
    if label:
        transform = ax.get_yaxis_transform()
        for i, name in enumerate(BANDS):
            ax.text(
                1.02,
                0.1 + 0.2 * i,
                name,
                transform=transform,
                va="center",
                ha="left",
                fontsize=8,
                color="0.35",
                rotation=90,
            )


def boxplot_figure(ratings: pd.DataFrame, title: str | None = None, seed: int = 0) -> Figure:
    """The paper's figure: one panel per task, methods on x in fixed order, ratings 0-1.

    Boxes show the median and interquartile range (whiskers at 1.5 IQR, no separate
    outlier markers because every rating is drawn as a jittered point on top).

    Args:
        ratings: scored ratings (after screening).
        title: figure title, e.g. to mark simulated data.
        seed: seed of the horizontal jitter, so figures are reproducible.
    """
    tasks = ordered_tasks(ratings)
    widths = [max(2, len(ordered_methods(ratings.loc[ratings["task"] == t]))) for t in tasks]
    fig = Figure(figsize=(1.0 + 0.85 * sum(widths), 4.2), layout="constrained")
    axes = fig.subplots(1, len(tasks), sharey=True, squeeze=False, width_ratios=widths)[0]
    rng = np.random.default_rng(seed)
    for index, (ax, task) in enumerate(zip(axes, tasks)):
        rows = ratings.loc[ratings["task"].to_numpy() == task]
        methods = ordered_methods(rows)
        data = [rows.loc[rows["method"].to_numpy() == m, "rating"].to_numpy() for m in methods]
        positions = np.arange(1, len(methods) + 1)
        _draw_bands(ax, label=index == len(tasks) - 1)
        ax.boxplot(
            data,
            positions=positions,
            widths=0.6,
            showfliers=False,
            patch_artist=True,
            boxprops={"facecolor": "#DCE6F2", "edgecolor": _BOX_COLOR},
            medianprops={"color": "#C44E52", "linewidth": 2},
            whiskerprops={"color": _BOX_COLOR},
            capprops={"color": _BOX_COLOR},
            zorder=2,
        )
        for pos, values in zip(positions, data):
            x = pos + rng.uniform(-0.2, 0.2, size=values.size)
            ax.scatter(
                x,
                values,
                s=5,
                color="0.15",
                alpha=_jitter_alpha(values.size),
                linewidths=0,
                zorder=3,
                rasterized=True,
            )
        ax.set_xticks(positions, methods, rotation=30, ha="right")
        raters = rows["rater_id"].nunique()
        ax.set_title(f"{task} ({raters} rater{'s' if raters != 1 else ''})")
        ax.set_xlim(0.4, len(methods) + 0.6)
        ax.set_ylim(-0.015, 1.015)
        if index == 0:
            ax.set_ylabel("rating")
    if title:
        fig.suptitle(title)
    return fig


def _heatmap(ax, matrix: np.ndarray, row_labels, column_labels) -> object:
    image = ax.imshow(
        matrix, aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest"
    )
    ax.set_xticks(np.arange(len(column_labels)), column_labels, rotation=30, ha="right")
    if len(row_labels) <= 60:
        ax.set_yticks(np.arange(len(row_labels)), row_labels, fontsize=7)
    else:
        ax.set_yticks([])
    return image


def passage_figure(passages: pd.DataFrame, title: str | None = None) -> Figure:
    """Mean rating per passage and method, one panel per task, passages sorted as given.

    Reads the output of :func:`analysis.views.passage_view`: rows with the largest
    Kendall's W (the passages that separate the methods most) come first.
    """
    tasks = list(dict.fromkeys(passages["task"]))
    heights = [max(3, (passages["task"] == t).sum()) for t in tasks]
    fig = Figure(figsize=(7.5, 1.2 + 0.22 * sum(heights)), layout="constrained")
    axes = fig.subplots(len(tasks), 1, squeeze=False, height_ratios=heights)[:, 0]
    image = None
    for ax, task in zip(axes, tasks):
        rows = passages.loc[passages["task"] == task]
        methods = [
            c for c in sort_methods(passages.columns.drop(["task", "passage_id", "kendalls_w"], errors="ignore"))
            if rows[c].notna().any()
        ]
        labels = [
            f"{p}  W={w:.2f}" if np.isfinite(w) else str(p)
            for p, w in zip(rows["passage_id"], rows["kendalls_w"])
        ]
        image = _heatmap(ax, rows[methods].to_numpy(dtype=float), labels, methods)
        ax.set_title(f"{task}: mean rating per passage")
    if image is not None:
        fig.colorbar(image, ax=list(axes), label="mean rating", shrink=0.8)
    if title:
        fig.suptitle(title)
    return fig


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
    fig = Figure(
        figsize=(max(6.0, 0.6 * len(cells) + 2.5), 1.5 + 0.2 * min(len(raters), 60)),
        layout="constrained",
    )
    ax = fig.subplots()
    image = _heatmap(ax, raters[cells].to_numpy(dtype=float), labels, cells)
    ax.set_title("mean rating per rater ((x): excluded by screening)")
    fig.colorbar(image, ax=ax, label="mean rating", shrink=0.8)
    if title:
        fig.suptitle(title)
    return fig


def save_figure(
    fig: Figure,
    out_dir: str | Path,
    name: str,
    formats: tuple[str, ...] = FIGURE_FORMATS,
    dpi: int = 150,
) -> list[Path]:
    """Write ``fig`` as ``<out_dir>/<name>.png`` and ``.pdf``; return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = out_dir / f"{name}.{fmt}"
        fig.savefig(path, dpi=dpi, metadata={"Creator": "dmc analysis"} if fmt == "png" else None)
        paths.append(path)
    return paths
