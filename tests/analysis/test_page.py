"""``python -m dmc.render page``: a self-contained companion page that works from file://.

Built from a small synthetic render with an imported system; the listening-test part
comes from the analysis's own command line (a subprocess) on a small ratings table.
The browser test opens the page from disk in Debian's Chromium and waits for every
player's metadata.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest

from analysis.page import main as page_main
from dmc.audio import decode_mp3, write_audio
from dmc.contracts.manifest import load_manifest
from dmc.contracts.ratings import RATING_COLUMNS
from dmc.render.cli import main

from ..dmc.render.conftest import make_song, oracle_registry, plans_for, render


def run_page(argv, capsys):
    """``python -m analysis page`` in-process: (exit status, stdout, stderr)."""
    try:
        code = page_main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def wide_render_dir(tmp_path_factory):
    """One passage with nine conditions: target, two consoles' stand-ins, mono, random, two
    imported systems and both anchors."""
    out = tmp_path_factory.mktemp("wide")
    names = ["console", "mono", "random", "target"]
    render(plans_for([make_song(7)], oracle_registry(), names, anchors=True), out)
    for system in ("zeta_mix", "alpha_mix", "mix_bot"):
        source = tmp_path_factory.mktemp(system)
        for entry in load_manifest(out).passages("drums"):
            audio, rate = decode_mp3(out / entry.condition("mono").file)
            write_audio(source / f"{entry.passage_id}.wav", 0.5 * audio, rate)
        argv = ["import", "--method", system, "--from", str(source), "--out", str(out)]
        assert main([*argv, "--no-progress"]) == 0
    return out


@pytest.fixture(scope="module")
def render_dir(tmp_path_factory):
    """Three passages (mono, random, target) and an imported system, ``mix_bot``."""
    out = tmp_path_factory.mktemp("render")
    render(
        plans_for(
            [make_song(i) for i in range(3)], oracle_registry(), ["mono", "random", "target"]
        ),
        out,
    )
    source = tmp_path_factory.mktemp("mix_bot")
    for entry in load_manifest(out).passages("drums"):
        audio, rate = decode_mp3(out / entry.condition("target").file)
        write_audio(
            source / f"{entry.passage_id}.wav", 0.5 * audio[::-1], rate
        )  # the target, mirrored
    assert (
        main(
            [
                "import",
                "--method",
                "mix_bot",
                "--from",
                str(source),
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    return out


@pytest.fixture(scope="module")
def ratings_csv(render_dir, tmp_path_factory):
    """Four raters who rate the target on top and the mirrored target just below it."""
    quality = {"target": 0.95, "mix_bot": 0.8, "random": 0.4, "mono": 0.3}
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("ratings") / "ratings.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, RATING_COLUMNS)
        writer.writeheader()
        for rater in range(4):
            for entry in load_manifest(render_dir).passages("drums"):
                for method, mean in quality.items():
                    writer.writerow({
                        "rater_id": f"r{rater}", "task": "drums", "passage_id": entry.passage_id,
                        "trial_id": f"drums:{entry.passage_id}", "method": method,
                        "rating": round(float(np.clip(mean + rng.normal(0, 0.04), 0, 1)), 3),
                        "is_training": "false", "is_simulated": "false",
                        "submitted_at": "2026-11-28T12:00:00+00:00", "time_on_trial_ms": 30000, "plays": 2,
                    })  # fmt: skip
    return path


CONFIG = """\
title: "Mixing <systems> & their listeners"
authors: [Ada Lovelace, Alan Turing]
abstract: |
  First paragraph about the test.

  Second paragraph.
links:
  Paper: https://arxiv.org/abs/2010.10291
  Code: code/index.html
methods:
  mix_bot: "our new model, exported as WAV"
"""


def audio_sources(index: Path) -> list[str]:
    return re.findall(r'<audio[^>]* src="([^"]+)"', index.read_text())


def test_the_page_reveals_methods_links_relatively_and_holds_its_audio(
    render_dir, tmp_path, capsys
):
    (tmp_path / "page.yaml").write_text(CONFIG)
    out = tmp_path / "site"
    code, stdout, err = run_page(
        [
            "--render",
            str(render_dir),
            "--out",
            str(out),
            "--config",
            str(tmp_path / "page.yaml"),
        ],
        capsys,
    )
    assert code == 0, err
    assert "12 players" in stdout
    text = (out / "index.html").read_text()
    sources = audio_sources(out / "index.html")
    assert len(sources) == 12 and len(set(sources)) == 12
    for source in sources:
        assert not source.startswith(("/", "http", "file:")) and (out / source).is_file()
        method = Path(source).stem
        assert method in ("target", "random", "mono", "mix_bot")
    manifest = load_manifest(render_dir)
    entry = manifest.passages("drums")[0]
    copied = next(s for s in sources if s.endswith("/mix_bot.mp3") and entry.song_id in s)
    assert (out / copied).read_bytes() == (
        render_dir / entry.condition("mix_bot").file
    ).read_bytes()
    assert "fetch(" not in text and "XMLHttpRequest" not in text and str(tmp_path) not in text
    assert (
        "Mixing &lt;systems&gt; &amp; their listeners" in text
        and "Ada Lovelace, Alan Turing" in text
    )
    assert 'href="https://arxiv.org/abs/2010.10291"' in text and "Second paragraph." in text
    assert "our new model, exported as WAV" in text
    first = text.split('<div class="passage">')[1]
    names = re.findall(r'<div class="name">([^<]+)</div>', first)
    assert names == ["target", "random", "mono", "mix_bot"]  # reference, built-in, imported
    assert '<div class="card reference"><div class="name">target' in first
    assert 'src="figures/metrics.png"' in text and (out / "figures" / "metrics.png").is_file()
    # its songs live in memory only, so the import had no lossless target: the page says so
    assert "Not so for mix_bot: scored against the decoded reference MP3" in text
    assert "Listening test" not in text
    # a second run replaces its own page; a folder it did not make is refused
    assert run_page(["--render", str(render_dir), "--out", str(out)], capsys)[0] == 0
    assert "Listening examples" in (out / "index.html").read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site")]


def test_ratings_run_the_analysis_command_and_its_figures_and_tables_are_embedded(
    render_dir, ratings_csv, tmp_path, capsys
):
    out = tmp_path / "site"
    argv = ["--render", str(render_dir), "--out", str(out), "--ratings", str(ratings_csv)]
    code, _, err = run_page([*argv, "--resamples", "200"], capsys)
    assert code == 0, err
    text = (out / "index.html").read_text()
    assert (
        '<img src="analysis/boxplots.png"' in text and (out / "analysis" / "boxplots.png").is_file()
    )
    assert (out / "analysis" / "report.html").is_file() and 'href="analysis/report.html"' in text
    assert "Pairwise Wilcoxon" in text and '<td class="">mix_bot</td>' in text
    # an existing analysis folder is taken as it is
    again = tmp_path / "again"
    code, _, err = run_page(
        [
            "--render",
            str(render_dir),
            "--out",
            str(again),
            "--analysis",
            str(out / "analysis"),
        ],
        capsys,
    )
    assert code == 0, err
    assert (again / "analysis" / "wilcoxon.csv").read_bytes() == (
        out / "analysis" / "wilcoxon.csv"
    ).read_bytes()


def _foreign(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "notes.txt").write_text("mine")


BAD_INPUT = [
    (lambda t: None, ["--render", "{tmp}/nothing"], "no render manifest"),
    (
        lambda t: (t / "c.yaml").write_text("colour: red\n"),
        ["--config", "{tmp}/c.yaml"],
        "unknown key 'colour'",
    ),
    (
        lambda t: (t / "c.yaml").write_text("links: {x: 'javascript:alert(1)'}\n"),
        ["--config", "{tmp}/c.yaml"],
        "must be http(s), mailto or a relative path",
    ),
    (_foreign, [], "exists and is not a page made by"),
    (lambda t: None, ["--ratings", "{tmp}/none.csv"], "no ratings file"),
    (
        lambda t: (t / "bad.csv").write_text("rater_id,rating\nr1,2\n"),
        ["--ratings", "{tmp}/bad.csv"],
        "the analysis of ",
    ),
    (
        lambda t: (t / "empty").mkdir(),
        ["--analysis", "{tmp}/empty"],
        "is not an analysis output folder",
    ),
]


@pytest.mark.parametrize(("setup", "options", "message"), BAD_INPUT)
def test_bad_input_is_one_line_exit_2_and_leaves_the_output_alone(
    render_dir, tmp_path, capsys, setup, options, message
):
    setup(tmp_path)
    options = [o.format(tmp=tmp_path) for o in options]
    if "--render" not in options:
        options += ["--render", str(render_dir)]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    code, out, err = run_page(["--out", str(tmp_path / "site"), *options], capsys)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert out == "" and sorted(p.name for p in tmp_path.rglob("*")) == before


@pytest.mark.browser
@pytest.mark.slow
def test_every_player_loads_its_audio_from_file_urls(render_dir, tmp_path, capsys, chromium):
    site = tmp_path / "published" / "site"
    assert run_page(["--render", str(render_dir), "--out", str(site)], capsys)[0] == 0
    browser = chromium()
    try:
        page = browser.new_page()
        failed = []
        page.on("requestfailed", lambda request: failed.append(request.url))
        page.goto(site.joinpath("index.html").as_uri())
        page.wait_for_function(
            "Array.from(document.querySelectorAll('audio')).every(a => a.readyState >= 1)",
            timeout=30000,
        )
        players = page.evaluate(
            "Array.from(document.querySelectorAll('audio')).map(a => [a.readyState, a.duration, a.error])"
        )
        images = page.evaluate("Array.from(document.images).map(i => i.naturalWidth)")
    finally:
        browser.close()
    assert len(players) == 12 and failed == []
    assert all(
        state >= 1 and duration == pytest.approx(2.0, abs=0.05) and error is None
        for state, duration, error in players
    )
    assert images and all(width > 0 for width in images)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("width, height", [(1280, 800), (390, 844)])
def test_every_method_of_a_passage_is_in_view_without_scrolling_sideways(
    wide_render_dir, tmp_path, capsys, chromium, width, height
):
    """Nine conditions a passage (reference, built-in and imported systems, anchors) fit a
    laptop and a phone: no horizontal scroll bar, every player inside the window's width."""
    site = tmp_path / "site"
    assert run_page(["--render", str(wide_render_dir), "--out", str(site)], capsys)[0] == 0
    browser = chromium()
    try:
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(site.joinpath("index.html").as_uri())
        layout = page.evaluate(
            """() => ({
                scroll: document.documentElement.scrollWidth,
                inner: window.innerWidth,
                players: Array.from(document.querySelectorAll('.passage')[0]
                    .querySelectorAll('audio')).map(a => {
                        const box = a.getBoundingClientRect();
                        return [box.left, box.right, box.width];
                    }),
            })"""
        )
        shot = tmp_path / f"page-{width}.png"
        page.screenshot(path=str(shot), full_page=False)
    finally:
        browser.close()
    assert layout["scroll"] <= layout["inner"], layout
    assert len(layout["players"]) == 9
    assert all(
        left >= 0 and right <= width and box >= 120 for left, right, box in layout["players"]
    )
    assert shot.stat().st_size > 10_000


def test_the_old_command_name_still_publishes_the_page(render_dir, tmp_path):
    """``python -m dmc.render page`` runs ``python -m analysis page`` (a note says so)."""
    import subprocess
    import sys

    out = tmp_path / "site"
    argv = ["-m", "dmc.render", "page", "--render", str(render_dir), "--out", str(out)]
    done = subprocess.run([sys.executable, *argv], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "moved to `python -m analysis page`" in done.stderr
    assert (out / "index.html").is_file() and "12 players" in done.stdout
    bad = subprocess.run(
        [sys.executable, *argv[:3], "--render", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "no render manifest" in bad.stderr
