"""The analysis from raw rows to every table and figure, shared by all the scripts.

``boxplots.py``, ``significance.py`` and ``report.py`` differ only in what they write;
the order of the steps (real/simulated selection, training rows out, post-screening,
statistics) lives here once, so no script can forget a step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from analysis import descriptives, inference, plots, views
from analysis.ratings import (
    NoRatingsError,
    drop_training,
    read_database,
    read_ratings_file,
    select_simulated,
)
from analysis.screening import ScreeningResult, ScreeningRules, screen
from analysis.tables import write_table

DEFAULT_OUT_DIR = Path("analysis_out")


@dataclass(frozen=True)
class AnalysisOptions:
    """Choices of one analysis run.

    Args:
        simulated: ``"exclude"`` (default: real ratings only), ``"only"`` or ``"include"``.
        screening: apply the BS.1534-3 post-screening (``False`` only reports it).
        rules: screening thresholds and the reference/anchor method names.
        n_resamples: bootstrap and permutation resamples. Default: 10,000 (BS.1534-3).
        seed: seed of every resampling and of the plot jitter.
        alpha: significance level of the Holm-corrected tests. Default: 0.05.
    """

    simulated: str = "exclude"
    screening: bool = True
    rules: ScreeningRules = field(default_factory=ScreeningRules)
    n_resamples: int = inference.N_RESAMPLES
    seed: int = 0
    alpha: float = inference.ALPHA


@dataclass
class Analysis:
    """Everything computed from one set of ratings."""

    source: str
    options: AnalysisOptions
    screening: ScreeningResult
    ratings: pd.DataFrame
    is_simulated: bool
    descriptives: pd.DataFrame | None = None
    friedman: pd.DataFrame | None = None
    wilcoxon: pd.DataFrame | None = None
    permutation: pd.DataFrame | None = None
    agreement: pd.DataFrame | None = None
    passages: pd.DataFrame | None = None
    raters: pd.DataFrame | None = None

    @property
    def title(self) -> str | None:
        """A figure title that makes simulated results impossible to mistake for real ones."""
        if self.is_simulated:
            mixed = self.options.simulated == "include" and not self.ratings["is_simulated"].all()
            return (
                "SIMULATED ratings mixed with real ones"
                if mixed
                else "SIMULATED ratings (not a real panel)"
            )
        return None


def load_ratings(
    ratings_path: str | Path | None = None, database_url: str | None = None
) -> tuple[pd.DataFrame, str]:
    """Rows from an export file, or from the database (default: the web app's own)."""
    if ratings_path is not None:
        return read_ratings_file(ratings_path), str(ratings_path)
    frame = read_database(database_url)
    return frame, frame.attrs.get("source", "the ratings database")


def prepare(
    ratings: pd.DataFrame, options: AnalysisOptions | None = None, source: str = "ratings"
) -> Analysis:
    """Select real/simulated rows, drop training trials and screen; no statistics yet.

    Raises:
        NoRatingsError: nothing left to analyse, with the reason.
    """
    options = options or AnalysisOptions()
    selected = select_simulated(ratings, options.simulated, source)
    scored = drop_training(selected)
    result = screen(scored, options.rules, apply=options.screening)
    if len(result.ratings) == 0:
        raise NoRatingsError(
            f"post-screening excluded all {len(result.report)} raters of {source}; "
            "see the screening report or pass --no-screening"
        )
    return Analysis(
        source, options, result, result.ratings, bool(result.ratings["is_simulated"].any())
    )


def analyse(
    ratings: pd.DataFrame,
    options: AnalysisOptions | None = None,
    source: str = "ratings",
    progress: bool | None = None,
) -> Analysis:
    """:func:`prepare`, then every statistic and view (progress bar on a terminal)."""
    analysis = prepare(ratings, options, source)
    options, kept = analysis.options, analysis.ratings
    scored_all = drop_training(select_simulated(ratings, options.simulated, source))
    steps = [
        ("descriptives", lambda: descriptives.describe(kept, options.n_resamples, options.seed)),
        ("friedman", lambda: inference.friedman(kept)),
        ("wilcoxon", lambda: inference.pairwise_wilcoxon(kept, options.alpha)),
        (
            "permutation",
            lambda: inference.permutation_tests(
                kept, options.n_resamples, options.seed, options.alpha
            ),
        ),
        ("agreement", lambda: views.agreement(kept)),
        ("passages", lambda: views.passage_view(kept, options.alpha)),
        ("raters", lambda: views.rater_view(scored_all, analysis.screening.report)),
    ]
    bar = tqdm(
        steps,
        desc="analysis",
        unit="step",
        disable=None if progress is None else not progress,
        leave=False,
    )
    for name, compute in bar:
        bar.set_postfix_str(name)
        setattr(analysis, name, compute())
    return analysis


#: Tables written by :func:`write_tables`: attribute, file name, caption.
TABLES = (
    (
        "descriptives",
        "descriptives",
        "Ratings per task and method: median, IQR, mean over raters with bootstrap 95 % CI",
    ),
    ("friedman", "friedman", "Friedman test across methods per task over (rater x passage) blocks"),
    (
        "wilcoxon",
        "wilcoxon",
        "Pairwise Wilcoxon signed-rank tests, Holm-corrected per task, rank-biserial effect sizes",
    ),
    (
        "permutation",
        "permutation",
        "BS.1534-3 permutation tests on rater mean differences, Holm-corrected per task",
    ),
    ("agreement", "agreement", "Inter-rater agreement per task (Kendall's W)"),
    (
        "passages",
        "passages",
        "Per-passage separation of methods (Friedman per passage, Kendall's W)",
    ),
    ("raters", "raters", "Per-rater behaviour and agreement with the panel"),
)


def write_screening(analysis: Analysis, out_dir: str | Path) -> list[Path]:
    """The screening report (who was excluded and why) as CSV and Markdown."""
    paths = write_table(
        analysis.screening.report,
        out_dir,
        "screening",
        "Post-screening (ITU-R BS.1534-3, 0-1)",
        formats=("csv", "md"),
    )
    if len(analysis.screening.exempt_items):
        paths += write_table(
            analysis.screening.exempt_items,
            out_dir,
            "screening_exempt_items",
            "Items where the anchor rule was not applied",
            formats=("csv", "md"),
        )
    return paths


def write_tables(analysis: Analysis, out_dir: str | Path) -> list[Path]:
    """Every computed table as CSV, Markdown and LaTeX, plus the screening report."""
    paths = write_screening(analysis, out_dir)
    for attribute, name, caption in TABLES:
        frame = getattr(analysis, attribute)
        if frame is not None:
            if analysis.is_simulated:
                caption = f"SIMULATED: {caption}"
            paths += write_table(frame, out_dir, name, caption)
    return paths


def write_boxplots(analysis: Analysis, out_dir: str | Path) -> list[Path]:
    """The paper's box plot figure as PNG and PDF."""
    figure = plots.boxplot_figure(
        analysis.ratings, analysis.title, analysis.options.seed, analysis.screening
    )
    return plots.save_figure(figure, out_dir, "boxplots")


def write_view_figures(analysis: Analysis, out_dir: str | Path) -> list[Path]:
    """Per-passage and per-rater heat maps (needs :func:`analyse`)."""
    paths = plots.save_figure(
        plots.passage_figure(analysis.passages, analysis.ratings, analysis.title),
        out_dir,
        "passages",
    )
    return paths + plots.save_figure(
        plots.rater_figure(analysis.raters, analysis.title), out_dir, "raters"
    )
