"""Loss curves of a run: one CSV row per logged step and a PNG people can look at."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

from dmc.contracts.files import atomic_write


def write_csv(path: Path, rows: Sequence[dict]) -> Path:
    """All rows with the union of their keys as columns (blank where a row lacks one)."""
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)

    return atomic_write(path, write)


def _smooth(values: list[float], width: int) -> list[float]:
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= width:
            total -= values[i - width]
        out.append(total / min(i + 1, width))
    return out


def plot(path: Path, rows: Sequence[dict], references: dict[str, float], title: str) -> Path:
    """Training loss (smoothed), validation loss, and constant reference lines (e.g. the mono mix)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [(r["step"], r["train_loss"]) for r in rows if "train_loss" in r]
    val = [(r["step"], r["val_loss"]) for r in rows if "val_loss" in r]
    fig, ax = plt.subplots(figsize=(7, 4))
    if train:
        steps, losses = zip(*train)
        ax.plot(steps, losses, color="0.8", linewidth=0.8, label="train (per step)")
        ax.plot(
            steps,
            _smooth(list(losses), max(1, len(losses) // 50)),
            color="C0",
            label="train (smoothed)",
        )
    if val:
        ax.plot(*zip(*val), "o-", color="C1", markersize=3, label="validation")
    for i, (name, value) in enumerate(references.items()):
        if math.isfinite(value):
            ax.axhline(value, linestyle="--", color=f"C{i + 2}", label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("loss (log scale)")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
