"""Benchmark: the whole analysis of 100,000 ratings, against baselines measured in the same run.

    python benchmarks/bench_analysis.py [--raters 855] [--passages 8] [--resamples 10000]

Simulates a panel of about 100,000 rows (855 raters x (9 drums trials x 7 methods +
9 full trials x 6 methods), training trials included), writes it as the web app's CSV
export, then times what ``analysis/report.py`` does: read and validate, screen,
every statistic (bootstrap and permutation tests with 10,000 resamples), the box plots
and heat maps as PNG and PDF, and every table. Goal: under 10 s.

Baselines, measured here on the same data: ``pandas.read_csv`` of the file alone (the
floor of any analysis), and the permutation tests of one task run as one scipy call
per method pair instead of one vectorised call per task.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from analysis import pipeline
from analysis.inference import permutation_tests, rater_differences
from analysis.ratings import read_ratings_file
from analysis.simulate import PanelModel, simulate_panel, write_ratings

GOAL_SECONDS = 10.0


def _timed(label: str, times: dict, function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    times[label] = time.perf_counter() - start
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--raters", type=int, default=855)
    parser.add_argument("--passages", type=int, default=8)
    parser.add_argument("--resamples", type=int, default=10_000)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        panel = simulate_panel(
            args.raters, seed=0, model=PanelModel(passages=args.passages)
        ).ratings
        csv_path = write_ratings(panel, folder / "ratings.csv")
        size_mb = csv_path.stat().st_size / 1e6
        print(f"{len(panel)} ratings by {args.raters} raters ({size_mb:.1f} MB CSV)")

        times: dict[str, float] = {}
        total_start, cpu_start = time.perf_counter(), time.process_time()
        ratings = _timed("read + validate", times, read_ratings_file, csv_path)
        options = pipeline.AnalysisOptions(simulated="only", n_resamples=args.resamples)
        analysis = _timed(
            "screen + statistics",
            times,
            pipeline.analyse,
            ratings,
            options,
            str(csv_path),
            progress=False,
        )
        out = folder / "out"
        _timed("box plots (png+pdf)", times, pipeline.write_boxplots, analysis, out)
        _timed("heat maps (png+pdf)", times, pipeline.write_view_figures, analysis, out)
        _timed("tables (csv+md+tex)", times, pipeline.write_tables, analysis, out)
        total, cpu = time.perf_counter() - total_start, time.process_time() - cpu_start

        start = time.perf_counter()
        pd.read_csv(csv_path)
        read_floor = time.perf_counter() - start

        kept = analysis.ratings
        start = time.perf_counter()
        permutation_tests(kept.loc[kept["task"] == "drums"], args.resamples)
        grouped = time.perf_counter() - start
        diffs = rater_differences(kept, "drums")
        start = time.perf_counter()
        for column in diffs.columns:
            stats.permutation_test(
                (diffs[column].dropna().to_numpy(),),
                np.mean,
                permutation_type="samples",
                n_resamples=args.resamples,
                rng=np.random.default_rng(0),
            )
        per_pair = time.perf_counter() - start

    for label, seconds in times.items():
        print(f"  {label:<22} {seconds:6.2f} s")
    verdict = "under" if total < GOAL_SECONDS else "OVER"
    print(
        f"total analysis of {len(panel)} ratings: {total:.2f} s wall "
        f"({verdict} the {GOAL_SECONDS:.0f} s goal), {cpu:.2f} s CPU of this process; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    if os.getloadavg()[0] > (os.cpu_count() or 1):
        print(
            f"  the CPU is oversubscribed: this process's CPU time ({cpu:.2f} s) is the better "
            "estimate of the wall time on an idle machine"
        )
    print(f"  = {total / read_floor:.1f} x pandas.read_csv alone ({read_floor:.2f} s)")
    pairs = diffs.shape[1]
    print(
        f"permutation tests, drums ({pairs} pairs, {diffs.shape[0]} raters, "
        f"{args.resamples} resamples): one vectorised call {grouped:.2f} s vs one scipy call "
        f"per pair {per_pair:.2f} s ({per_pair / grouped:.1f} x faster)"
    )
    return 0 if total < GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
