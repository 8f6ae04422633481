"""Figures, tables, the HTML report and the scripts, run the way users run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from analysis import boxplots, report, significance
from analysis.pipeline import AnalysisOptions, prepare
from analysis.plots import boxplot_figure, save_figure
from analysis.tables import to_latex, to_markdown

REPO = Path(__file__).resolve().parents[2]


def _decoded_png(path: Path) -> np.ndarray:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert image[..., :3].std() > 0.05  # something was drawn, not a blank canvas
    return image


def _run_script(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )


def test_boxplot_panels_follow_tasks_and_method_order(simulated_ratings, tmp_path):
    analysis = prepare(simulated_ratings, AnalysisOptions(simulated="only"))
    figure = boxplot_figure(analysis.ratings, analysis.title)
    axes = [ax for ax in figure.axes if ax.get_title()]
    assert [ax.get_title().split(" ")[0] for ax in axes] == ["drums", "full"]
    labels = [t.get_text().split("\n")[0] for t in axes[1].get_xticklabels()]
    assert labels == [
        "target",
        "console",
        "random",
        "mono",
        "anchor_7k",
        "anchor_3k5",
    ]  # no demucs in full
    assert axes[0].get_ylim() == pytest.approx((-0.015, 1.015))
    band_labels = {t.get_text() for t in axes[1].texts}
    assert band_labels == {"Bad", "Poor", "Fair", "Good", "Excellent"}
    png, pdf = save_figure(figure, tmp_path, "boxplots")
    _decoded_png(png)
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5000


def test_tables_escape_and_round(make_panel):
    import pandas as pd

    frame = pd.DataFrame(
        {"method": ["anchor_7k"], "p_value": [0.0000123], "mean": [0.123456], "significant": [True]}
    )
    markdown = to_markdown(frame)
    assert "| anchor_7k | < 0.001 | 0.123 | yes |" in markdown and "---:" in markdown
    latex = to_latex(frame, caption="50 % of it", label="tab:x")
    assert r"anchor\_7k" in latex and r"50 \% of it" in latex and r"\toprule" in latex


def test_boxplots_script_writes_figures_and_screening(write_csv, real_ratings, tmp_path, capsys):
    out = tmp_path / "out"
    assert boxplots.main(["--ratings", str(write_csv(real_ratings)), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote: {out / 'boxplots.png'}" in printed and "kept 11 of 12 raters" in printed
    _decoded_png(out / "boxplots.png")
    assert (out / "boxplots.pdf").stat().st_size > 5000
    assert "excluded" in (out / "screening.csv").read_text()


def test_significance_and_report_scripts(write_csv, real_ratings, tmp_path, capsys):
    path = write_csv(real_ratings)
    out = tmp_path / "out"
    assert significance.main(["--ratings", str(path), "--out", str(out), "--resamples", "500"]) == 0
    for name in (
        "descriptives",
        "friedman",
        "wilcoxon",
        "permutation",
        "agreement",
        "passages",
        "raters",
    ):
        for suffix in ("csv", "md", "tex"):
            assert (out / f"{name}.{suffix}").stat().st_size > 100, name
    assert r"anchor\_7k" in (out / "wilcoxon.tex").read_text()
    assert (
        report.main(
            ["--ratings", str(path), "--out", str(out), "--resamples", "500", "--no-screening"]
        )
        == 0
    )
    page = (out / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 3
    assert "screening off" in page and "Kendall" in page and "SIMULATED" not in page
    for name in ("passages", "raters"):
        _decoded_png(out / f"{name}.png")
    assert f"wrote: {out / 'report.html'}" in capsys.readouterr().out


def test_missing_file_is_one_line_and_nonzero(tmp_path):
    result = _run_script("analysis/boxplots.py", "--ratings", str(tmp_path / "none.csv"), cwd=REPO)
    assert result.returncode == 2  # bad input (dmc.cli)
    assert result.stderr.strip().splitlines() == [
        f"boxplots: error: no ratings file at {tmp_path / 'none.csv'}"
    ]
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("option, typo", [("--reference", "targte"), ("--mid-anchor", "anchor7k")])
def test_a_typo_in_a_screening_method_is_one_line_and_exit_2(
    write_csv, real_ratings, tmp_path, option, typo
):
    """A typo never turns a screening rule off silently: the command names the method and
    the rated ones, writes nothing and exits 2."""
    path = write_csv(real_ratings)
    result = _run_script("analysis/boxplots.py", "--ratings", str(path), "--out",
                         str(tmp_path / "out"), option, typo, cwd=REPO)  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("boxplots: error: the "), lines
    assert f"{typo!r} ({option}) is not a rated method" in lines[0]
    assert lines[0].endswith(", ".join(sorted(set(real_ratings["method"]))))
    assert not (tmp_path / "out").exists()


def test_ratings_without_a_reference_are_analysed_with_and_without_screening(
    write_csv, real_ratings, tmp_path, capsys
):
    """A test designed with reference: none (no target, no anchors rated) still analyses,
    screened with a note and with --no-screening."""
    unreferenced = real_ratings.loc[
        ~real_ratings["method"].isin(["target", "anchor_7k", "anchor_3k5"])
    ]
    path = write_csv(unreferenced)
    for extra in ([], ["--no-screening"]):
        out = tmp_path / f"out{len(extra)}"
        assert boxplots.main(["--ratings", str(path), "--out", str(out), *extra]) == 0
        printed = capsys.readouterr().out
        assert "no ratings of the reference 'target': reference rule not applied" in printed
        assert (out / "boxplots.png").is_file()


def test_no_database_yet_is_one_line_and_nonzero(tmp_path):
    pytest.importorskip("webapp.storage.export")
    env = {"DMC_WEBAPP_INSTANCE": str(tmp_path / "instance"), "DMC_DATABASE_URL": ""}
    result = _run_script(str(REPO / "analysis" / "boxplots.py"), cwd=tmp_path, env=env)
    assert result.returncode == 2  # nothing to analyse: bad input (dmc.cli)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("boxplots: error: no ratings yet"), result.stderr
    assert not (tmp_path / "instance").exists() and not (tmp_path / "analysis_out").exists()


def test_module_form_runs_on_simulated_ratings_only_when_asked(
    write_csv, simulated_ratings, tmp_path
):
    path = write_csv(simulated_ratings)
    refused = _run_script("-m", "analysis.boxplots", "--ratings", str(path), cwd=tmp_path)
    assert (
        refused.returncode == 2
        and "--simulated only" in refused.stderr
        and "Traceback" not in refused.stderr
    )
    result = _run_script(
        "-m", "analysis.boxplots", "--ratings", str(path), "--simulated", "only", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "wrote: analysis_out/boxplots.png" in result.stdout
    _decoded_png(tmp_path / "analysis_out" / "boxplots.png")
