"""The live box plot on the admin dashboard: ratings per task and method, as PNG.

Drawn with Matplotlib's object API (no pyplot state, safe in server threads), in the
layout of the paper's figure: one panel per task, methods in the manifest's order,
boxes with the median and quartiles and every rating as a faint point.
"""

from __future__ import annotations

import io

import numpy as np

from dmc.contracts.conditions import sort_methods as _method_order


def boxplot_png(rows: list[dict], include_simulated: bool = False, dpi: int = 100) -> bytes:
    """Render test (not training) ratings as a PNG; an empty panel says "no ratings yet".

    Args:
        rows: rating rows from :func:`webapp.export.rating_rows`.
        include_simulated: also plot simulated raters.
    """
    from matplotlib.figure import Figure

    rows = [
        r for r in rows if not r["is_training"] and (include_simulated or not r["is_simulated"])
    ]
    tasks = sorted({r["task"] for r in rows}) or ["(none)"]
    figure = Figure(figsize=(4.2 * len(tasks), 3.6), dpi=dpi, layout="constrained")
    axes = figure.subplots(1, len(tasks), squeeze=False)[0]
    rng = np.random.default_rng(0)
    for ax, task in zip(axes, tasks):
        by_method: dict[str, list[float]] = {}
        for r in rows:
            if r["task"] == task:
                by_method.setdefault(r["method"], []).append(r["rating"])
        methods = _method_order(set(by_method))
        ax.set_title(task)
        ax.set_ylim(-0.02, 1.02)
        ax.set_yticks([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax.grid(axis="y", alpha=0.3)
        if not methods:
            ax.text(0.5, 0.5, "no ratings yet", ha="center", va="center", transform=ax.transAxes)
            ax.set_xticks([])
            continue
        data = [by_method[m] for m in methods]
        ax.boxplot(data, showfliers=False, widths=0.6)
        for i, values in enumerate(data, start=1):
            ax.scatter(
                i + rng.uniform(-0.15, 0.15, len(values)), values, s=6, alpha=0.35, color="black"
            )
        ax.set_xticks(
            range(1, len(methods) + 1),
            [f"{m}\n(n={len(by_method[m])})" for m in methods],
            fontsize=8,
        )
    axes[0].set_ylabel("rating")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
