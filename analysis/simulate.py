"""Simulated listening-test panels: ratings in the web app's export format, for demos and power.

    python -m analysis.simulate --out ratings.csv [--raters 20 --seed 0 --effects console=0.7]
    python -m analysis.power --compare console random --difference 0.05 0.1

Before a real panel exists, the analysis scripts need something realistic to run on,
tests need panels with known properties, and the test design needs an answer to "how
many raters do we need?". A simulated panel answers all three. Every row is marked
``is_simulated`` and the analysis leaves such rows out unless asked, so simulated
numbers never mix into real results.

The model of one rating (rater ``r``, passage ``p``, method ``m``), clipped to [0, 1]:

    rating = 0.5 + scale_r * (quality_m + passage_p + interaction_pm + preference_rm - 0.5)
             + bias_r + noise

with ``quality_m`` the per-method mean quality of the task, ``passage_p`` and
``interaction_pm`` Gaussian passage effects (some passages flatter every method, some
separate them more), ``preference_rm`` a rater's own taste for a method, ``bias_r`` and
``scale_r`` a rater's offset and use of the scale, and Gaussian noise. A careful rater finds the hidden reference on most trials and
rates it near the top. A share of the panel fails BS.1534-3 post-screening on
purpose: *careless* raters rate at random, *anchor-deaf* raters rate the 7 kHz anchor
like the reference.
"""

from __future__ import annotations

import argparse
import copy
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from dmc.cli import Parser, fail
from dmc.contracts.conditions import (
    MID_ANCHOR,
    REFERENCE,
    check_method_name,
    simulated_quality,
    sort_methods,
)
from dmc.contracts.ratings import RATING_COLUMNS

#: Per-task mean quality of each method on 0-1: plausible defaults, not the paper's numbers
#: (each built-in method's ``simulated`` field in :mod:`dmc.contracts.conditions`).
DEFAULT_QUALITY = simulated_quality()
START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def _default_quality() -> dict[str, dict[str, float]]:
    return copy.deepcopy(DEFAULT_QUALITY)


@dataclass
class PanelModel:
    """Parameters of a simulated panel; every spread is a standard deviation on 0-1.

    Args:
        quality: task -> method -> mean quality 0-1 (the methods each task presents).
        passages: scored passages per task. Default: 8.
        training_trials: training trials per task per rater (discarded by the analysis).
        passage_sd: passage main effect. Default: 0.06.
        interaction_sd: passage x method interaction. Default: 0.04.
        preference_sd: rater x method interaction, how much raters disagree about a
            method whatever the passage (the reason more raters, not only more passages,
            are needed). Default: 0.06.
        bias_sd: rater offset. Default: 0.05.
        scale_log_sd: spread of the log of a rater's scale use. Default: 0.15.
        noise_sd: per-rating noise. Default: 0.07.
        reference_hit_rate: chance a careful rater finds the hidden reference and rates it
            in [0.92, 1]. Default: 0.95.
        failing_fraction: share of raters who fail screening by design, 0-1. Default: 0.1.
        resolution: rating step of the slider. Default: 0.001.
    """

    quality: dict[str, dict[str, float]] = field(default_factory=_default_quality)
    passages: int = 8
    training_trials: int = 1
    passage_sd: float = 0.06
    interaction_sd: float = 0.04
    preference_sd: float = 0.06
    bias_sd: float = 0.05
    scale_log_sd: float = 0.15
    noise_sd: float = 0.07
    reference_hit_rate: float = 0.95
    failing_fraction: float = 0.1
    resolution: float = 0.001

    def __post_init__(self):
        for task, methods in self.quality.items():
            for method in methods:
                check_method_name(method)
            bad = {m: q for m, q in methods.items() if not 0.0 <= q <= 1.0}
            if bad:
                raise ValueError(f"task {task!r}: quality must lie in [0, 1], got {bad}")
        if self.passages < 1:
            raise ValueError(f"passages must be at least 1, not {self.passages}")
        if not 0.0 <= self.failing_fraction <= 1.0:
            raise ValueError(f"failing_fraction must lie in [0, 1], not {self.failing_fraction}")

    def with_effects(self, effects: dict[tuple[str | None, str], float]) -> PanelModel:
        """A copy with some method qualities replaced; key ``(None, m)`` means every task."""
        quality = copy.deepcopy(self.quality)
        for (task, method), value in effects.items():
            tasks = [task] if task is not None else [t for t in quality if method in quality[t]]
            if task is not None and task not in quality:
                raise ValueError(
                    f"unknown task {task!r} in effects; tasks are {', '.join(quality)}"
                )
            if not tasks:
                raise ValueError(f"method {method!r} is not presented in any task")
            if task is not None and method not in quality[task]:
                raise ValueError(
                    f"method {method!r} is not presented in task {task!r}; "
                    f"it has {', '.join(quality[task])}"
                )
            for t in tasks:
                quality[t][method] = value
        return PanelModel(**{**self.__dict__, "quality": quality})


@dataclass
class Panel:
    """A simulated panel: the export rows and who fails screening by design (and how)."""

    ratings: pd.DataFrame
    failing_raters: dict[str, str]


def _rater_ratings(
    rng, model: PanelModel, kind: str, task: str, methods: list[str], latent: np.ndarray
) -> np.ndarray:
    """Ratings ``(trials, methods)`` of one rater on one task from the latent qualities."""
    if kind == "careless":
        ratings = rng.uniform(0.0, 1.0, latent.shape)
        hit_rate = 0.3
    else:
        scale = np.exp(rng.normal(0.0, model.scale_log_sd))
        bias = rng.normal(0.0, model.bias_sd)
        preference = rng.normal(0.0, model.preference_sd, latent.shape[1])
        noise = rng.normal(0.0, model.noise_sd, latent.shape)
        ratings = 0.5 + scale * (latent + preference - 0.5) + bias + noise
        hit_rate = model.reference_hit_rate
    top = rng.uniform(0.92, 1.0, latent.shape)
    if REFERENCE in methods:
        j = methods.index(REFERENCE)
        hits = rng.random(latent.shape[0]) < hit_rate
        ratings[hits, j] = top[hits, j]
    if kind == "anchor_deaf" and MID_ANCHOR in methods:
        j = methods.index(MID_ANCHOR)
        ratings[:, j] = top[:, j]
    return np.clip(ratings, 0.0, 1.0)


def simulate_panel(
    n_raters: int = 20,
    seed: int = 0,
    model: PanelModel | None = None,
    tasks: tuple[str, ...] | None = None,
) -> Panel:
    """Simulate ``n_raters`` raters rating every passage of every task.

    Args:
        n_raters: raters recruited (failing ones included).
        seed: seed of everything random; the same seed gives the same panel.
        model: the rating model; default :class:`PanelModel` ().
        tasks: tasks to simulate; default every task of ``model.quality``.

    Returns:
        A :class:`Panel` whose ``ratings`` has exactly the export columns
        (:data:`dmc.contracts.ratings.RATING_COLUMNS`), ``is_simulated`` true on every row.
    """
    model = model or PanelModel()
    if n_raters < 1:
        raise ValueError(f"n_raters must be at least 1, not {n_raters}")
    tasks = tuple(tasks) if tasks else tuple(model.quality)
    unknown = [t for t in tasks if t not in model.quality]
    if unknown:
        raise ValueError(f"unknown task(s) {unknown}; the model has {', '.join(model.quality)}")
    rng = np.random.default_rng(seed)
    rater_ids = [f"sim-{i + 1:03d}" for i in range(n_raters)]
    n_failing = round(model.failing_fraction * n_raters)
    failing = {
        str(r): ("careless", "anchor_deaf")[i % 2]
        for i, r in enumerate(rng.choice(rater_ids, size=n_failing, replace=False))
    }
    effects = {}
    for task in tasks:
        methods = sort_methods(model.quality[task])
        quality = np.array([model.quality[task][m] for m in methods])
        n = model.passages + model.training_trials
        passage = rng.normal(0.0, model.passage_sd, (n, 1))
        interaction = rng.normal(0.0, model.interaction_sd, (n, len(methods)))
        effects[task] = (methods, quality + passage + interaction)
    columns: dict[str, list] = {c: [] for c in RATING_COLUMNS}
    for r_index, rater in enumerate(rater_ids):
        kind = failing.get(rater, "careful")
        trials = []
        for task in tasks:
            methods, latent = effects[task]
            values = _rater_ratings(rng, model, kind, task, methods, latent)
            for p in range(latent.shape[0]):
                is_training = p >= model.passages
                passage_id = (
                    f"{task}-p{p + 1:02d}"
                    if not is_training
                    else f"{task}-train{p - model.passages + 1}"
                )
                trial_id = ("training:" if is_training else "") + f"{task}:{passage_id}"
                trials.append(
                    (not is_training, rng.random(), task, passage_id, trial_id, methods, values[p])
                )
        clock = START + timedelta(hours=r_index)
        for scored, _, task, passage_id, trial_id, methods, values in sorted(
            trials, key=lambda t: t[:2]
        ):
            k = len(methods)
            seconds = float(rng.lognormal(np.log(6.0 * k), 0.35))
            clock += timedelta(seconds=seconds)
            for name, value in (
                ("rater_id", rater),
                ("task", task),
                ("passage_id", passage_id),
                ("trial_id", trial_id),
                ("is_training", not scored),
                ("is_simulated", True),
                ("submitted_at", clock.isoformat(timespec="seconds")),
                ("time_on_trial_ms", int(seconds * 1000)),
            ):
                columns[name].append(
                    np.full(k, value, dtype=object if isinstance(value, str) else None)
                )
            columns["method"].append(np.array(methods, dtype=object))
            columns["rating"].append(np.round(values / model.resolution) * model.resolution)
            columns["plays"].append(rng.poisson(1.5, k) + 1)
    ratings = pd.DataFrame({name: np.concatenate(parts) for name, parts in columns.items()})
    ratings["rating"] = ratings["rating"].clip(0.0, 1.0).round(6)
    return Panel(ratings, dict(sorted(failing.items())))


def write_ratings(ratings: pd.DataFrame, path: str | Path) -> Path:
    """Write rows as the web app's export: CSV, or JSON records for a ``.json`` path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        ratings.to_json(path, orient="records", indent=1)
    else:
        ratings.to_csv(path, index=False)
    return path


def parse_effects(items: list[str] | None) -> dict[tuple[str | None, str], float]:
    """``["console=0.7", "full:mono=0.3"]`` -> ``{(None, "console"): 0.7, ("full", "mono"): 0.3}``.

    Entries may also be comma-separated within one argument.
    """
    effects = {}
    for item in items or []:
        for part in filter(None, item.split(",")):
            key, sep, value = part.partition("=")
            task, _, method = key.rpartition(":")
            try:
                number = float(value)
            except ValueError:
                number = None
            if not sep or not method or number is None:
                raise ValueError(
                    f"bad effect {part!r}: write METHOD=QUALITY or TASK:METHOD=QUALITY"
                )
            effects[(task or None, method.strip())] = number
    return effects


PROG = "python -m analysis.simulate"


def add_panel_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that describe a simulated panel (shared with ``python -m analysis.power``)."""
    parser.add_argument(
        "--passages", type=int, default=8, help="scored passages per task (default: 8)"
    )
    parser.add_argument(
        "--failing",
        type=float,
        default=0.1,
        help="share of raters failing screening (default: 0.1)",
    )
    parser.add_argument(
        "--effects",
        nargs="+",
        metavar="[TASK:]METHOD=QUALITY",
        help="per-method mean quality 0-1, e.g. console=0.75 full:mono=0.3",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed (default: 0)")


def get_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=PROG, description=__doc__.split("\n\n")[1])
    parser.add_argument(
        "--out",
        type=Path,
        help="ratings CSV/JSON (default simulated_ratings.csv)",
    )
    parser.add_argument("--raters", type=int, default=20, help="raters in the panel (default: 20)")
    parser.add_argument("--tasks", nargs="+", help="tasks to simulate (default: drums full)")
    add_panel_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    try:
        model = PanelModel(passages=args.passages, failing_fraction=args.failing)
        model = model.with_effects(parse_effects(args.effects))
        panel = simulate_panel(
            args.raters, args.seed, model, tuple(args.tasks) if args.tasks else None
        )
    except ValueError as error:
        return fail(PROG, str(error))
    path = write_ratings(panel.ratings, args.out or Path("simulated_ratings.csv"))
    print(f"wrote {len(panel.ratings)} simulated ratings by {args.raters} raters to {path}")
    if panel.failing_raters:
        print(
            "failing screening by design: "
            + ", ".join(f"{r} ({k})" for r, k in panel.failing_raters.items())
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
