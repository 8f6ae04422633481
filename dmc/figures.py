"""Every box plot and heat map of the project, on seaborn, in one style.

The render report (objective metrics per method), the web app's admin dashboard (the
ratings so far) and the analysis (the paper's figure, per-passage and per-rater heat
maps) all draw through these functions, so a figure looks the same wherever it is
made: one panel per task, conditions in the one display order
(:func:`dmc.contracts.conditions.display_order`: reference, systems, anchors), boxes
with every value drawn on top, the reference's and the anchors' boxes grey so that the
systems under test stand out.

Figures are :class:`matplotlib.figure.Figure` objects (no ``pyplot`` state). Seaborn's
style is applied through a temporary rc context, which touches matplotlib's global
settings, so drawing is serialised by a lock: safe in a threaded web server.
"""

from __future__ import annotations

import io
import os
import threading
import warnings
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import MatplotlibDeprecationWarning
from matplotlib.figure import Figure

from dmc.contracts.conditions import display_order, is_reference_or_anchor
from dmc.contracts.files import atomic_write_bytes
from dmc.contracts.scale import QUALITY_BANDS

#: The paper's figure style: seaborn's whitegrid at paper size, its muted palette.
STYLE = {"style": "whitegrid", "context": "paper", "palette": "muted", "font_scale": 1.1}
BOX_COLOR = sns.color_palette(STYLE["palette"])[0]
#: Fill of a system's box, and of the reference's and the anchors' (made from the target,
#: not systems under test): grey, so the systems stand out.
SYSTEM_FILL = sns.desaturate(BOX_COLOR, 0.5)
REFERENCE_FILL = (0.85, 0.85, 0.85)
_DRAWING = threading.Lock()


@contextmanager
def paper_style():
    """Seaborn's theme for the duration of one figure (under the drawing lock).

    Seaborn 0.13 still passes matplotlib arguments that matplotlib 3.11 deprecates
    (``vert=``); those warnings concern seaborn's internals, not the figure, and are
    silenced here only.
    """
    with (
        _DRAWING,
        warnings.catch_warnings(),
        sns.axes_style(STYLE["style"]),
        sns.plotting_context(STYLE["context"], font_scale=STYLE["font_scale"]),
    ):
        warnings.simplefilter("ignore", MatplotlibDeprecationWarning)
        yield


def _point_alpha(count: int) -> float:
    return float(np.clip(8.0 / np.sqrt(max(count, 1)), 0.04, 0.6))


def box_fill(condition: str):
    """The fill colour of a condition's box: grey for the reference and the anchors."""
    return REFERENCE_FILL if is_reference_or_anchor(str(condition)) else SYSTEM_FILL


def _quality_bands(ax, label: bool, bands: Sequence[str]) -> None:
    """Equal bands over 0-1 (the normalised rating scale), labelled bottom up."""
    count = len(bands)
    for i in range(1, count):
        ax.axhline(i / count, color="0.8", linewidth=0.8, zorder=0)
    if label:
        transform = ax.get_yaxis_transform()
        for i, name in enumerate(bands):
            ax.text(
                1.02, (i + 0.5) / count, name, transform=transform, va="center", ha="left",
                fontsize=8, color="0.35", rotation=90,
            )  # fmt: skip


def box_plot(
    frame: pd.DataFrame,
    value: str,
    *,
    panel: str = "task",
    x: str = "method",
    ylabel: str | None = None,
    title: str | None = None,
    panel_title: Callable[[str, pd.DataFrame], str] | None = None,
    quality_scale: bool = False,
    bands: Sequence[str] = QUALITY_BANDS,
    tick_counts: bool = False,
    tick_label: Callable[[str, pd.DataFrame], str] | None = None,
    seed: int = 0,
    empty_text: str = "nothing to show yet",
) -> Figure:
    """One panel per ``panel`` value, a box per ``x`` value (display order), every value on top.

    Boxes show the median and interquartile range, whiskers at 1.5 IQR and no separate
    outliers (every value is drawn as a jittered point, rasterised so a PDF of 100,000
    ratings stays small).

    Args:
        frame: long table with columns ``panel``, ``x`` and ``value``.
        value: the column plotted on y (a rating, a metric).
        ylabel: y-axis label (default ``value``).
        title: figure title.
        panel_title: ``(panel value, its rows) -> title`` (default the panel value).
        quality_scale: a rating normalised to 0-1: fixed limits and the scale's bands.
        bands: the band labels of the rating scale, bottom up (default the five of
            BS.1534-3; :class:`dmc.contracts.scale.RatingScale`).
        tick_counts: add each box's count under its label.
        tick_label: ``(x value, its rows) -> label`` of each box (overrides ``tick_counts``).
        seed: seed of the jitter, so figures are reproducible.
        empty_text: shown in a single panel when ``frame`` has no rows.
    """
    rows = frame.dropna(subset=[value])
    panels = sorted(rows[panel].unique()) if len(rows) else []
    widths = [max(2, rows.loc[rows[panel] == p, x].nunique()) for p in panels] or [2]
    with paper_style():
        fig = Figure(figsize=(1.2 + 0.9 * sum(widths), 4.2), layout="constrained")
        axes = fig.subplots(
            1, len(widths), sharey=quality_scale, squeeze=False, width_ratios=widths
        )[0]
        if not panels:
            axes[0].text(
                0.5, 0.5, empty_text, ha="center", va="center", transform=axes[0].transAxes
            )
            axes[0].set_xticks([])
        for index, (ax, name) in enumerate(zip(axes, panels)):
            part = rows.loc[rows[panel].to_numpy() == name]
            order = display_order(part[x].unique())
            if quality_scale:
                _quality_bands(ax, label=index == len(panels) - 1, bands=bands)
            sns.boxplot(
                data=part, x=x, y=value, order=order, hue=x, hue_order=order, legend=False,
                palette={m: box_fill(m) for m in order}, saturation=1, ax=ax, width=0.6,
                showfliers=False, linecolor=BOX_COLOR,
                medianprops={"color": "#C44E52", "linewidth": 2},
            )  # fmt: skip
            state = np.random.get_state()  # seaborn jitters with NumPy's global generator
            np.random.seed(seed)
            try:
                sns.stripplot(
                    data=part, x=x, y=value, order=order, ax=ax, size=2.5, color="0.15",
                    alpha=_point_alpha(len(part) / max(len(order), 1)), jitter=0.2,
                    rasterized=True,
                )  # fmt: skip
            finally:
                np.random.set_state(state)
            labels = order
            if tick_label:
                labels = [tick_label(m, part.loc[part[x].to_numpy() == m]) for m in order]
            elif tick_counts:
                counts = part[x].value_counts()
                labels = [f"{m}\n(n={counts.get(m, 0)})" for m in order]
            ax.set_xticks(range(len(order)), labels, rotation=30, ha="right")
            ax.set_xlabel("")
            ax.set_ylabel((ylabel or value) if index == 0 else "")
            ax.set_title(panel_title(name, part) if panel_title else str(name))
            if quality_scale:
                ax.set_ylim(-0.015, 1.015)
        if title:
            fig.suptitle(title)
    return fig


def heat_map(
    matrix: pd.DataFrame,
    *,
    title: str,
    ax=None,
    figure: Figure | None = None,
    colorbar_label: str = "mean rating",
    vmin: float = 0.0,
    vmax: float = 1.0,
) -> Figure:
    """A matrix (rows x columns, e.g. passages x methods) as a heat map with a colour bar.

    Draws into ``ax`` of ``figure`` when given (for several panels), else a new figure.
    Row labels are hidden beyond 60 rows.
    """
    with paper_style():
        if ax is None:
            figure = Figure(
                figsize=(max(6.0, 0.7 * matrix.shape[1] + 3.0), 1.6 + 0.22 * min(len(matrix), 60)),
                layout="constrained",
            )
            ax = figure.subplots()
        sns.heatmap(
            matrix.astype(float), ax=ax, cmap="viridis", vmin=vmin, vmax=vmax,
            yticklabels=len(matrix) <= 60, cbar_kws={"label": colorbar_label, "shrink": 0.8},
        )  # fmt: skip
        ax.set_title(title)
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.tick_params(axis="x", rotation=30)
        ax.tick_params(axis="y", labelsize=7)
    return figure


def heat_maps(
    matrices: Sequence[tuple[str, pd.DataFrame]], title: str | None = None, **kwargs
) -> Figure:
    """Several :func:`heat_map` panels stacked, each ``(panel title, matrix)``."""
    heights = [max(3, len(m)) for _, m in matrices]
    with paper_style():
        figure = Figure(figsize=(7.5, 1.4 + 0.22 * sum(heights)), layout="constrained")
        axes = figure.subplots(len(matrices), 1, squeeze=False, height_ratios=heights)[:, 0]
    for ax, (panel_title, matrix) in zip(axes, matrices):
        heat_map(matrix, title=panel_title, ax=ax, figure=figure, **kwargs)
    if title:
        figure.suptitle(title)
    return figure


def png_bytes(fig: Figure, dpi: int = 120) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def save(
    fig: Figure, path: str | os.PathLike, formats: Sequence[str] = ("png",), dpi: int = 150
) -> list[Path]:
    """Write ``fig`` as ``path`` with each suffix in ``formats`` (atomically); returns the paths."""
    path = Path(path)
    written = []
    for fmt in formats:
        target = path.with_suffix(f".{fmt}")
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=dpi)
        written.append(atomic_write_bytes(target, buffer.getvalue()))
    return written
