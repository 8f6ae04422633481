"""The live box plot on the admin dashboard: ratings per task and method, as PNG.

Drawn by :mod:`dmc.figures` (seaborn, the project's one figure style, thread-safe), in
the layout of the paper's figure: one panel per task, methods in display order, boxes
with the median and quartiles and every rating as a point.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from dmc import figures
from dmc.contracts.scale import QUALITY_BANDS


def boxplot_png(
    rows: list[dict],
    include_simulated: bool = False,
    dpi: int = 100,
    bands: Sequence[str] = QUALITY_BANDS,
) -> bytes:
    """Render test (not training) ratings as a PNG; an empty panel says "no ratings yet".

    Args:
        rows: rating rows from :func:`webapp.storage.export.rating_rows` (ratings on 0-1).
        include_simulated: also plot simulated raters.
        bands: the band labels of the test's rating scale, bottom up.
    """
    kept = [
        r for r in rows if not r["is_training"] and (include_simulated or not r["is_simulated"])
    ]
    frame = pd.DataFrame(kept, columns=["task", "method", "rating"])
    figure = figures.box_plot(
        frame, "rating", ylabel="rating", quality_scale=True, bands=bands, tick_counts=True,
        empty_text="no ratings yet",
    )  # fmt: skip
    return figures.png_bytes(figure, dpi=dpi)
