"""What a render tells a researcher before any listener: ``metrics.csv``, a summary table, a plot.

The metrics of every condition are computed while rendering (from the decoded MP3,
against the loudness-normalised target) and stored in the manifest; this module only
lays them out. The target is not scored against itself; anchors are.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from dmc import figures
from dmc.contracts.conditions import sort_methods
from dmc.contracts.files import atomic_write
from dmc.contracts.manifest import Manifest
from dmc.metrics import METRIC_NAMES

ID_COLUMNS = ("task", "passage_id", "song_id", "method", "file")
#: Columns of the printed summary (all metrics stay in the CSV).
SUMMARY_COLUMNS = {
    "sd_mrstft": "MR-STFT",
    "loudness_error_lu": "loud LU",
    "centroid_error_hz": "centroid Hz",
    "contrast_error_db": "contrast dB",
    "flatness_error": "flatness",
    "panning_error": "pan",
    "panning_error_low": "pan lo",
    "panning_error_mid": "pan mid",
    "panning_error_high": "pan hi",
    "rl_level_db": "R-L dB",
    "balance_error_db": "bal dB",
    "balance_error_db_high": "bal hi dB",
    "panning_error_mi": "pan MI",
    "panning_error_mi_high": "pan MI hi",
    "panning_error_any_view_high": "pan AV hi",
    "rms_error_db": "RMS dB",
    "crest_factor_error_db": "crest dB",
    "dynamic_spread_error_db": "spread dB",
}


def metrics_frame(manifest: Manifest) -> pd.DataFrame:
    """One row per (task, passage, method) with every metric of :data:`METRIC_NAMES`."""
    rows = []
    for task, passages in manifest.tasks.items():
        for passage in passages:
            for condition in passage.conditions:
                metrics = condition.extra.get("metrics")
                if metrics is None:  # the target itself
                    continue
                rows.append(
                    {
                        "task": task,
                        "passage_id": passage.passage_id,
                        "song_id": passage.song_id,
                        "method": condition.method,
                        "file": condition.file,
                        **{name: metrics.get(name, float("nan")) for name in METRIC_NAMES},
                    }
                )
    return pd.DataFrame(rows, columns=[*ID_COLUMNS, *METRIC_NAMES])


def write_metrics_csv(manifest: Manifest, path: str | os.PathLike) -> Path:
    """Write :func:`metrics_frame` as CSV through a temporary file."""
    return _write_frame(metrics_frame(manifest), path)


def _write_frame(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False, float_format="%.6g"))


_method_order = sort_methods


def summary_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean of every metric per task and method (methods in the manifest's plotting order)."""
    if frame.empty:
        return pd.DataFrame(columns=["task", "method", "passages", *METRIC_NAMES])
    grouped = frame.groupby(["task", "method"], sort=False)
    summary = grouped[list(METRIC_NAMES)].mean()
    summary.insert(0, "passages", grouped.size())
    summary = summary.reset_index()
    order = {m: i for i, m in enumerate(_method_order(summary["method"]))}
    return summary.sort_values(
        ["task", "method"], key=lambda c: c.map(order) if c.name == "method" else c
    )


#: Why a render has no metrics: every one compares a mix with the passage's target.
NO_METRICS = "no metrics: no passage has a target (a reference mix) to measure the mixes against"


def summary_text(frame: pd.DataFrame) -> str:
    """The summary as a plain-text table, one block per task (smaller is better but for the signed R-L level)."""
    summary = summary_frame(frame)
    if summary.empty:
        return NO_METRICS
    blocks = []
    for task, table in summary.groupby("task", sort=False):
        shown = table.set_index("method")[["passages", *SUMMARY_COLUMNS]].rename(
            columns=SUMMARY_COLUMNS
        )
        text = shown.to_string(float_format=lambda v: f"{v:.3g}")
        blocks.append(
            f"task {task}: mean error against the target (smaller is better; R-L dB: the mix's lean, "
            f"+ right; MI: mirror-invariant; AV: any view, the kit's mirror free too)\n{text}"
        )
    return "\n\n".join(blocks)


def write_metrics(manifest: Manifest, out_dir: str | os.PathLike) -> Path | None:
    """``metrics.csv`` and, when there is something to plot, ``metrics.png`` in ``out_dir``;
    the plot's path, or None when no passage has a target (a plot of an earlier render
    there is removed, so that no figure outlives the numbers it showed)."""
    out_dir = Path(out_dir)
    frame = metrics_frame(manifest)
    _write_frame(frame, out_dir / "metrics.csv")
    plot = out_dir / "metrics.png"
    if frame.empty:
        plot.unlink(missing_ok=True)
        return None
    return plot_metrics(frame, plot)


def plot_metrics(frame: pd.DataFrame, path: str | os.PathLike, metric: str = "sd_mrstft") -> Path:
    """Box plot of one metric per task and method, saved as PNG (atomically)."""
    if metric not in METRIC_NAMES:
        raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(METRIC_NAMES)}")
    figure = figures.box_plot(
        frame, metric, ylabel=f"{metric} (lower is better)",
        panel_title=lambda task, rows: f"{task}: {metric} vs target",
    )  # fmt: skip
    return figures.save(figure, Path(path), dpi=120)[0]
