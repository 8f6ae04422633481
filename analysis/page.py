"""``python -m analysis page``: publish a rendered test as a static companion page.

    python -m analysis page [--render DIR] [--ratings FILE | --analysis DIR] [--config page.yaml] [--out DIR]

Every paper of this kind ends with a page of listening examples: passages as rows,
methods as columns, an audio player in every cell, then the box plots. This command
writes one into a self-contained folder: ``index.html`` (one file, its style and a few
lines of script inline), ``audio/<task>/<passage>/<method>.mp3`` (the render's MP3s
under names that say what they are: on this page the methods are revealed) and
``figures/metrics.png``. Links are relative and nothing is fetched by script, so the
folder works from ``file://`` and from any static host (GitHub Pages, a web server's
directory, a zip for reviewers).

Objective metrics come from the manifest (:mod:`dmc.render.report`, the figure through
:mod:`dmc.figures`). The listening-test results come from the analysis, run here on
``--ratings FILE`` (:func:`analysis.report.write_report`, the same files
``python -m analysis report`` writes, into ``<page>/analysis``), or taken from
``--analysis DIR``, a folder that command wrote before. The page is the last step of the
project's data flow, so it may use every part before it.

The page's texts (title, authors, abstract, links, a line per method) come from a small
YAML or TOML file given with ``--config`` (:class:`PageConfig`; ``analysis/configs/page.yaml``
is a documented example); without one, the title names the render's data and split.
The folder is built beside ``--out`` and swapped into place at the end, so a failed run
leaves the previous page as it was; ``--out`` must be new or a page this command made.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from analysis import page_html
from analysis.inference import N_RESAMPLES
from analysis.pipeline import AnalysisOptions, analyse, load_ratings
from analysis.ratings import SIMULATED_CHOICES, RatingsError
from analysis.report import write_report
from dmc.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, Parser, fail
from dmc.contracts.manifest import Manifest, ManifestError, default_render_dir, load_manifest
from dmc.render.report import metrics_frame, plot_metrics

PROG = "python -m analysis page"
#: The analysis outputs the page embeds (written by :func:`analysis.report.write_report`).
ANALYSIS_FILES = ("boxplots.png", "descriptives.csv", "friedman.csv", "wilcoxon.csv")
#: Suffixes copied from an analysis folder (figures, tables, its own report).
ANALYSIS_SUFFIXES = (".png", ".pdf", ".csv", ".md", ".tex", ".html")
CONFIG_KEYS = ("title", "authors", "abstract", "links", "methods", "tasks", "footer")


class PageError(ValueError):
    """Bad input to the page command; the message is one line saying what to fix."""


@dataclass(frozen=True)
class PageConfig:
    """The page's texts; every key of the config file is optional.

    Attributes:
        title: the page's heading.
        authors: names, shown under the title.
        abstract: a paragraph (plain text; blank lines start new paragraphs).
        links: ``(text, url)`` pairs (paper, code, data); YAML gives a mapping or a list
            of ``{text, url}``.
        methods: method -> one line describing it (overrides the built-in descriptions).
        tasks: task -> its heading.
        footer: a closing line (licence, contact).
    """

    title: str = "Listening examples"
    authors: tuple[str, ...] = ()
    abstract: str = ""
    links: tuple[tuple[str, str], ...] = ()
    methods: dict[str, str] = field(default_factory=dict)
    tasks: dict[str, str] = field(default_factory=dict)
    footer: str = ""


def default_config(manifest: Manifest) -> PageConfig:
    """The page's texts without a config file: a title naming the render's data and split."""
    data, split = manifest.settings.get("data"), manifest.settings.get("split")
    what = " ".join(str(x) for x in (data, split and f"{split} split") if x)
    return PageConfig(title=f"Listening examples: {what}" if what else PageConfig.title)


def load_config(path: Path | None, manifest: Manifest | None = None) -> PageConfig:
    """Read a page config (``.toml`` by suffix, else YAML); None gives the defaults
    (:func:`default_config` of ``manifest`` when given).

    Raises:
        PageError: an unreadable file, an unknown key or a value of the wrong kind.
    """
    if path is None:
        return default_config(manifest) if manifest is not None else PageConfig()
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise PageError(f"cannot read page config {path}: {' '.join(str(exc).split())}") from None
    data = data or {}
    if not isinstance(data, dict):
        raise PageError(f"page config {path} must be a mapping of {', '.join(CONFIG_KEYS)}")
    unknown = sorted(set(data) - set(CONFIG_KEYS))
    if unknown:
        raise PageError(
            f"page config {path}: unknown key {unknown[0]!r}; keys are {', '.join(CONFIG_KEYS)}"
        )

    def text_of(key: str) -> str:
        value = data.get(key, "")
        if not isinstance(value, (str, int, float)):
            raise PageError(f"page config {path}: {key} must be text, got {value!r}")
        return str(value).strip()

    authors = data.get("authors") or ()
    authors = (authors,) if isinstance(authors, str) else authors
    if not isinstance(authors, (list, tuple)) or not all(isinstance(a, str) for a in authors):
        raise PageError(f"page config {path}: authors must be a name or a list of names")
    links = data.get("links") or ()
    pairs = list(links.items()) if isinstance(links, dict) else links
    try:
        pairs = [
            (str(p["text"]), str(p["url"])) if isinstance(p, dict) else (str(p[0]), str(p[1]))
            for p in pairs
        ]
    except (KeyError, IndexError, TypeError):
        raise PageError(
            f"page config {path}: links must map text to URL, or list {{text, url}} entries"
        ) from None
    for _, url in pairs:
        scheme = url.split(":", 1)[0].lower() if ":" in url.split("/", 1)[0] else ""
        if scheme not in ("", "http", "https", "mailto"):
            raise PageError(
                f"page config {path}: link {url!r} must be http(s), mailto or a relative path"
            )
    for key in ("methods", "tasks"):
        value = data.get(key) or {}
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise PageError(f"page config {path}: {key} must map names to one line of text")
    return PageConfig(
        title=text_of("title") or PageConfig.title,
        authors=tuple(authors),
        abstract=text_of("abstract"),
        links=tuple(pairs),
        methods={str(k): v for k, v in (data.get("methods") or {}).items()},
        tasks={str(k): v for k, v in (data.get("tasks") or {}).items()},
        footer=text_of("footer"),
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m analysis page``."""
    parser.add_argument(
        "--render",
        metavar="DIR",
        type=Path,
        default=None,
        help="the rendered test (default ./renders/testset)",
    )
    results = parser.add_mutually_exclusive_group()
    results.add_argument(
        "--ratings", metavar="FILE", type=Path, default=None,
        help="ratings export (CSV/JSON): runs the analysis and embeds its figures and tables",
    )  # fmt: skip
    results.add_argument(
        "--analysis",
        metavar="DIR",
        type=Path,
        default=None,
        help="an existing output folder of `python -m analysis report`",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        default=None,
        help="page texts: YAML or TOML (title, authors, ...)",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        default=None,
        help="output folder (default ./renders/page)",
    )
    parser.add_argument(
        "--simulated", choices=SIMULATED_CHOICES, default="exclude",
        help="which simulated ratings the analysis uses (default: exclude)",
    )  # fmt: skip
    parser.add_argument(
        "--resamples",
        metavar="N",
        type=int,
        default=N_RESAMPLES,
        help=f"bootstrap/permutation resamples of the analysis (default {N_RESAMPLES})",
    )


# ---------------------------------------------------------------------- the analysis


def run_analysis(ratings: Path, out_dir: Path, simulated: str, resamples: int) -> None:
    """The analysis of ``ratings`` (screening, figures, tables, its report) into ``out_dir``.

    Raises:
        PageError: the ratings are missing or refused (the analysis's own one-line message).
    """
    if not ratings.is_file():
        raise PageError(
            f"no ratings file {ratings}; export the ratings from the web app's admin page"
        )
    try:
        frame, source = load_ratings(ratings)
        analysis = analyse(
            frame, AnalysisOptions(simulated=simulated, n_resamples=resamples), source, False
        )
    except RatingsError as exc:
        raise PageError(f"the analysis of {ratings} refused it: {exc}") from None
    out_dir.mkdir(parents=True, exist_ok=True)
    write_report(analysis, out_dir)


def copy_analysis(source: Path, out_dir: Path) -> None:
    """Copy an analysis output folder's figures and tables (``--analysis DIR``)."""
    if not source.is_dir() or not any((source / name).is_file() for name in ANALYSIS_FILES):
        raise PageError(
            f"--analysis {source} is not an analysis output folder (no {' or '.join(ANALYSIS_FILES[:2])}); "
            "make one with `python -m analysis report --ratings FILE --out DIR`"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.iterdir()):
        if path.is_file() and path.suffix.lower() in ANALYSIS_SUFFIXES:
            shutil.copy2(path, out_dir / path.name)


# ---------------------------------------------------------------------- building the folder


def _slug(text: str) -> str:
    return (
        "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text).strip("._") or "passage"
    )


def copy_audio(manifest: Manifest, out_dir: Path) -> dict[tuple[str, str, str], str]:
    """Copy every condition's MP3 to ``audio/<task>/<passage>/<method>.mp3``; returns the relative paths."""
    paths: dict[tuple[str, str, str], str] = {}
    for task, entries in manifest.tasks.items():
        used: set[str] = set()
        for entry in entries:
            slug = _slug(entry.passage_id)
            while slug in used:
                slug += "_"
            used.add(slug)
            for condition in entry.conditions:
                relative = f"audio/{_slug(task)}/{slug}/{condition.method}.mp3"
                (out_dir / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(manifest.path_of(condition.file), out_dir / relative)
                paths[(task, entry.passage_id, condition.method)] = relative
    return paths


def build(manifest: Manifest, out_dir: Path, config: PageConfig, analysis_dir: Path | None) -> None:
    """Write the page's files into ``out_dir`` (audio, the metrics figure, ``index.html``)."""
    audio = copy_audio(manifest, out_dir)
    frame = metrics_frame(manifest)
    figure = None
    if not frame.empty:
        figure = (
            plot_metrics(frame, out_dir / "figures" / "metrics.png").relative_to(out_dir).as_posix()
        )
    text = page_html.render(manifest, config, audio, frame, figure, analysis_dir, out_dir)
    (out_dir / "index.html").write_text(text, encoding="utf-8")


def _check_out(out_dir: Path, render_dir: Path) -> None:
    if (
        out_dir.resolve() == render_dir.resolve()
        or render_dir.resolve() in out_dir.resolve().parents
    ):
        raise PageError(f"--out {out_dir} is inside the render folder; write the page elsewhere")
    if out_dir.exists():
        index = out_dir / "index.html"
        ours = index.is_file() and page_html.GENERATOR in index.read_text(
            encoding="utf-8", errors="replace"
        )
        if not out_dir.is_dir() or (any(out_dir.iterdir()) and not ours):
            raise PageError(
                f"--out {out_dir} exists and is not a page made by `{PROG}`; choose a new folder"
            )


def _swap_into_place(built: Path, out_dir: Path) -> None:
    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    if out_dir.exists():
        os.replace(out_dir, old)
    os.replace(built, out_dir)
    shutil.rmtree(old, ignore_errors=True)


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def run(args: argparse.Namespace) -> int:
    """``python -m analysis page`` with parsed ``args``; returns the exit status."""
    started = time.perf_counter()
    render_dir = args.render if args.render is not None else default_render_dir()
    out_dir = args.out if args.out is not None else default_render_dir("page")
    building = out_dir.with_name(f".{out_dir.name}.building-{os.getpid()}")
    try:
        try:
            manifest = load_manifest(render_dir)
            manifest.check_files()
        except ManifestError as exc:
            raise PageError(str(exc)) from None
        if args.resamples is not None and args.resamples < 1:
            raise PageError(f"--resamples must be at least 1, got {args.resamples}")
        config = load_config(args.config, manifest)
        _check_out(out_dir, render_dir)
        analysis_dir = None
        if args.ratings is not None:
            analysis_dir = building / "analysis"
            run_analysis(args.ratings, analysis_dir, args.simulated, args.resamples)
        elif args.analysis is not None:
            analysis_dir = building / "analysis"
            copy_analysis(args.analysis, analysis_dir)
        build(manifest, building, config, analysis_dir)
        _swap_into_place(building, out_dir)
    except PageError as exc:
        return fail(PROG, str(exc), EXIT_BAD_INPUT)
    except (RuntimeError, OSError) as exc:
        return fail(PROG, f"the page could not be written: {exc}", EXIT_FAILED)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    size = folder_bytes(out_dir)
    players = sum(len(e.conditions) for es in manifest.tasks.values() for e in es)
    print(
        f"page: {out_dir / 'index.html'} ({players} players, {size / 1e6:.1f} MB in all) "
        f"in {time.perf_counter() - started:.1f} s\nopen it from disk, or copy the folder to any static host"
    )
    return EXIT_OK


def get_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=PROG, description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    return run(get_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
