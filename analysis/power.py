"""Power analysis by simulation: how many raters does a listening test need?

For a quality difference between two methods, simulate many panels of each size
(:mod:`analysis.simulate`), run each through exactly the analysis a real panel gets
(BS.1534-3 post-screening, Wilcoxon signed-rank tests over (rater x passage) blocks,
Holm correction over every method pair of the task) and count how often the pair comes
out significant at alpha 0.05 in the right direction. That share is the power; the
smallest panel whose power reaches the target (0.8 by default) is the answer.
Panel sizes are raters *recruited*: the share that fails screening is part of the
model, so the answer already includes the raters that will be lost.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from statsmodels.stats.proportion import proportion_confint
from tqdm import tqdm

from analysis.inference import ALPHA, pairwise_wilcoxon
from analysis.screening import screen
from analysis.simulate import PanelModel, add_panel_arguments, parse_effects, simulate_panel
from analysis.tables import to_markdown
from dmc.cli import EXIT_OK, Parser, fail
from dmc.contracts.conditions import KIND_SYSTEM, METHODS

#: The default comparison: the first system under test against the first baseline every
#: task's simulated panel presents (the console against the random mix).
DEFAULT_COMPARE = (
    next(m.name for m in METHODS if m.kind == KIND_SYSTEM and not m.baseline and m.simulated),
    next(
        m.name
        for m in METHODS
        if m.baseline
        and m.simulated
        and set(m.simulated) >= {t for n in METHODS for t in n.simulated}
    ),
)

TABLE_COLUMNS = ("difference", "raters", "simulations", "detected", "power", "ci_low", "ci_high")


def comparison_model(
    model: PanelModel, task: str, method_a: str, method_b: str, difference: float
) -> PanelModel:
    """``model`` with only ``task`` and ``method_b`` set ``difference`` below ``method_a``."""
    if task not in model.quality:
        raise ValueError(f"unknown task {task!r}; the model has {', '.join(model.quality)}")
    quality = model.quality[task]
    for method in (method_a, method_b):
        if method not in quality:
            raise ValueError(
                f"method {method!r} is not presented in task {task!r} ({', '.join(quality)})"
            )
    lower = quality[method_a] - difference
    if not 0.0 <= lower <= 1.0:
        raise ValueError(
            f"{method_a} quality {quality[method_a]} minus difference {difference} leaves [0, 1]"
        )
    single = PanelModel(**{**model.__dict__, "quality": {task: dict(quality)}})
    return single.with_effects({(task, method_b): lower})


def detected(ratings: pd.DataFrame, method_a: str, method_b: str, alpha: float = ALPHA) -> bool:
    """Whether the analysis finds ``method_a`` significantly better than ``method_b``."""
    kept = screen(ratings).ratings
    if kept["rater_id"].nunique() < 2:
        return False
    tests = pairwise_wilcoxon(kept, alpha)
    row = tests.loc[(tests["method_a"] == method_a) & (tests["method_b"] == method_b)]
    sign = 1.0
    if row.empty:  # the pair is stored in the fixed method order
        row, sign = (
            tests.loc[(tests["method_a"] == method_b) & (tests["method_b"] == method_a)],
            -1.0,
        )
    return bool(row["significant"].iloc[0] and sign * row["rank_biserial"].iloc[0] > 0)


def power_table(
    differences,
    raters_grid,
    method_a: str = DEFAULT_COMPARE[0],
    method_b: str = DEFAULT_COMPARE[1],
    task: str = "drums",
    simulations: int = 100,
    alpha: float = ALPHA,
    seed: int = 0,
    model: PanelModel | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Estimated power for every (difference, panel size), with Wilson 95 % intervals.

    Panel ``i`` of a panel size ``n`` is seeded from ``(seed, n, i)``: points are
    reproducible, independent of the grid around them, and every difference is tried
    on the same panels (common random numbers keep the curves smooth).
    """
    model = model or PanelModel()
    if simulations < 1:
        raise ValueError(f"simulations must be at least 1, not {simulations}")
    rows = []
    points = [(d, n) for d in differences for n in raters_grid]
    for difference, n_raters in tqdm(
        points, desc="power", unit="point", disable=None if progress is None else not progress
    ):
        if n_raters < 2:
            raise ValueError(f"panel sizes must be at least 2 raters, not {n_raters}")
        panel_model = comparison_model(model, task, method_a, method_b, difference)
        hits = 0
        for i in range(simulations):
            panel_seed = int(np.random.SeedSequence([seed, n_raters, i]).generate_state(1)[0])
            panel = simulate_panel(n_raters, panel_seed, panel_model)
            hits += detected(panel.ratings, method_a, method_b, alpha)
        power = hits / simulations
        low, high = proportion_confint(hits, simulations, alpha=0.05, method="wilson")
        rows.append(
            {
                "difference": difference,
                "raters": n_raters,
                "simulations": simulations,
                "detected": hits,
                "power": power,
                "ci_low": min(float(low), power),
                "ci_high": max(float(high), power),
            }
        )
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def raters_needed(table: pd.DataFrame, target_power: float = 0.8) -> pd.DataFrame:
    """Per difference, the smallest panel size whose estimated power reaches ``target_power``."""
    rows = []
    for difference, group in table.groupby("difference", sort=True):
        enough = group.loc[group["power"] >= target_power].sort_values("raters")
        rows.append(
            {
                "difference": difference,
                "raters_needed": int(enough["raters"].iloc[0]) if len(enough) else np.nan,
                "largest_tried": int(group["raters"].max()),
            }
        )
    return pd.DataFrame(rows)


def power_figure(table: pd.DataFrame, target_power: float, title: str) -> Figure:
    """Power against panel size, one line per difference, with the target as a dashed line."""
    fig = Figure(figsize=(6.0, 4.0), layout="constrained")
    ax = fig.subplots()
    for difference, group in table.groupby("difference", sort=True):
        group = group.sort_values("raters")
        ax.plot(group["raters"], group["power"], marker="o", label=f"difference {difference:g}")
        ax.fill_between(group["raters"], group["ci_low"], group["ci_high"], alpha=0.15)
    ax.axhline(target_power, color="0.4", linestyle="--", linewidth=1)
    ax.set_xlabel("raters recruited")
    ax.set_ylabel(f"power (alpha {ALPHA:g}, Holm)")
    ax.set_ylim(0.0, 1.02)
    ax.set_title(title)
    ax.legend()
    return fig


PROG = "python -m analysis.power"


def get_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        description="How many raters a listening test needs: simulated panels, each analysed "
        "exactly as a real one (screening, Wilcoxon with Holm), at several panel sizes.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("analysis_out") / "power.csv",
        help="power table CSV, with .png/.pdf plots beside it (default analysis_out/power.csv)",
    )
    parser.add_argument(
        "--compare",
        nargs=2,
        metavar=("A", "B"),
        default=DEFAULT_COMPARE,
        help="methods compared; B's quality is A's minus the difference "
        f"(default: {' '.join(DEFAULT_COMPARE)})",
    )
    parser.add_argument("--task", default="drums", help="task of the comparison (default: drums)")
    parser.add_argument(
        "--difference",
        nargs="+",
        type=float,
        default=[0.05, 0.1],
        help="quality differences to detect (default: 0.05 0.1)",
    )
    parser.add_argument(
        "--raters-grid",
        nargs="+",
        type=int,
        default=[4, 6, 8, 12, 16, 24, 32],
        help="panel sizes tried (default: 4 6 8 12 16 24 32)",
    )
    parser.add_argument(
        "--simulations", type=int, default=100, help="panels per point (default: 100)"
    )
    parser.add_argument(
        "--target-power", type=float, default=0.8, help="power wanted (default: 0.8)"
    )
    add_panel_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Power table, the raters needed per difference, and a plot."""
    args = get_parser().parse_args(argv)
    try:
        model = PanelModel(passages=args.passages, failing_fraction=args.failing)
        model = model.with_effects(parse_effects(args.effects))
        method_a, method_b = args.compare
        table = power_table(
            args.difference,
            args.raters_grid,
            method_a,
            method_b,
            args.task,
            args.simulations,
            seed=args.seed,
            model=model,
        )
    except ValueError as error:
        return fail(PROG, str(error))
    title = f"{args.task}: {method_a} vs {method_b} (SIMULATED panels)"
    print(title + "\n" + to_markdown(table))
    for row in raters_needed(table, args.target_power).itertuples():
        if np.isnan(row.raters_needed):
            print(
                f"difference {row.difference:g}: power {args.target_power:g} not reached with "
                f"up to {row.largest_tried} raters"
            )
        else:
            print(
                f"difference {row.difference:g}: {int(row.raters_needed)} raters give power >= "
                f"{args.target_power:g}"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    figure = power_figure(table, args.target_power, title)
    paths = [args.out]
    for suffix in (".png", ".pdf"):
        paths.append(args.out.with_suffix(suffix))
        figure.savefig(paths[-1], dpi=150)
    for path in paths:
        print(f"wrote: {path}")
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
