"""Command-line plumbing shared by the analysis scripts: the same options, the same errors.

Every script takes its ratings from ``--ratings FILE`` or ``--db URL`` (default: the
web app's database), writes to ``--out`` (default ``./analysis_out/``) and turns a
user mistake or an empty database into one line on stderr and exit status 2 (the
project's convention, :mod:`dmc.cli`), never a traceback.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from analysis.inference import N_RESAMPLES
from analysis.pipeline import DEFAULT_OUT_DIR, AnalysisOptions, load_ratings
from analysis.ratings import SIMULATED_CHOICES, RatingsError
from analysis.screening import MID_ANCHOR, REFERENCE_METHOD, ScreeningRules
from dmc.cli import EXIT_BAD_INPUT, EXIT_FAILED, Parser, fail


def base_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """A parser with the input, output, screening and simulation options of every script."""
    parser = Parser(prog=prog, description=description)
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--ratings",
        metavar="FILE",
        type=Path,
        help="CSV/JSON export of the web app (default: read the web app's database)",
    )
    source.add_argument(
        "--db",
        metavar="URL",
        help="database URL (default: $DMC_DATABASE_URL or the web app's instance database)",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        default=DEFAULT_OUT_DIR,
        help=f"output folder (default: ./{DEFAULT_OUT_DIR}/)",
    )
    parser.add_argument(
        "--no-screening",
        action="store_true",
        help="keep every rater (the screening report still says who would be excluded)",
    )
    parser.add_argument(
        "--simulated",
        choices=SIMULATED_CHOICES,
        default="exclude",
        help="simulated rows: exclude (default), analyse only them, or include them with real ones",
    )
    parser.add_argument(
        "--reference",
        default=REFERENCE_METHOD,
        help=f"hidden reference method (default: {REFERENCE_METHOD}; when it has no "
        "ratings, a test without a reference, its rule is skipped with a note; another name "
        "must be a rated method)",
    )
    parser.add_argument(
        "--mid-anchor",
        default=MID_ANCHOR,
        help=f"mid anchor method (default: {MID_ANCHOR}, skipped with a note when unrated; "
        "another name must be a rated method)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of resampling and plot jitter (default: 0)"
    )
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def add_resamples_argument(parser: argparse.ArgumentParser) -> None:
    """``--resamples``: bootstrap and permutation resamples (BS.1534-3: 10,000)."""
    parser.add_argument(
        "--resamples",
        type=_positive_int,
        default=N_RESAMPLES,
        help=f"bootstrap and permutation resamples (default: {N_RESAMPLES})",
    )


def options_from_args(args: argparse.Namespace, **overrides) -> AnalysisOptions:
    """The :class:`AnalysisOptions` the parsed arguments ask for."""
    try:
        rules = ScreeningRules(reference=args.reference, mid_anchor=args.mid_anchor)
    except ValueError as error:
        raise RatingsError(str(error)) from None
    return AnalysisOptions(
        simulated=args.simulated,
        screening=not args.no_screening,
        rules=rules,
        seed=args.seed,
        **overrides,
    )


def load_from_args(args: argparse.Namespace):
    """``(ratings, source)`` from ``--ratings`` or ``--db``."""
    return load_ratings(args.ratings, args.db)


def run(prog: str, body: Callable[[], int]) -> int:
    """Run a script body; a :class:`RatingsError` or an unwritable output: one line on stderr."""
    try:
        return body()
    except RatingsError as error:
        return fail(prog, str(error), EXIT_BAD_INPUT)
    except OSError as error:
        return fail(prog, f"cannot write the results: {error}", EXIT_FAILED)


def print_paths(label: str, paths) -> None:
    """Tell the user where the files went."""
    for path in paths:
        print(f"{label}: {path}")
