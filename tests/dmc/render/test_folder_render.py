"""``dmc.render testset --data folder``: your own multitracks, with or without a reference mix.

With a mix, an imported system is scored against the same lossless target as the built-in
methods (reloaded from the folder the manifest records); without one, the render has no
``target`` (nor anything made from it), the metrics are empty and the test design needs
``reference: none``.
"""

from __future__ import annotations

import pytest

from dmc.audio import write_audio
from dmc.contracts.manifest import load_manifest
from dmc.effects.chain import mix
from dmc.staging import GainStaging
from evaluation.design import build_design
from evaluation.design import config as design_config
from evaluation.design.config import DesignError

from .conftest import TARGET_SETTINGS, run_main, synthetic_tracks

RATE = 44100
NAMES = ("kick", "bass", "keys", "perc")


def write_songs(root, with_mix: bool, seconds: float = 2.5) -> None:
    for index in range(2):
        folder = root / f"take{index + 1}"
        tracks = synthetic_tracks(seconds, seed=index, sample_rate=RATE)
        for name, track in zip(NAMES, tracks):
            write_audio(folder / f"{name}.wav", track, RATE)
        if with_mix:
            params = [{"gain_db": g, "pan": p} for g, p in TARGET_SETTINGS]
            target, _ = mix(GainStaging().apply(tracks, RATE), RATE, params, stages=("gain",))
            write_audio(folder / "mix.wav", target, RATE)


def render(root, out, methods, capsys):
    argv = [
        "testset",
        "--data",
        "folder",
        "--root",
        str(root),
        "--methods",
        methods,
        "--seconds",
        "2",
    ]
    return run_main([*argv, "--out", str(out), "--no-progress", "--workers", "0"], capsys)


def test_an_imported_system_is_scored_against_the_lossless_target(tmp_path, capsys):
    write_songs(tmp_path / "songs", with_mix=True)
    code, out, err = render(tmp_path / "songs", tmp_path / "out", "mono,target", capsys)
    assert code == 0, err
    assert out.strip().endswith("metrics.csv (plot: metrics.png)")
    assert (tmp_path / "out" / "metrics.png").read_bytes()[:4] == b"\x89PNG"
    manifest = load_manifest(tmp_path / "out")
    assert manifest.settings["data"] == "folder" and manifest.settings["root"] == str(
        (tmp_path / "songs").resolve()
    )
    assert list(manifest.tasks) == ["full"]  # bass and keys: not a drum kit
    system = tmp_path / "system"
    for entry in manifest.passages(
        "full"
    ):  # the engineer's whole mix at -9 dB: the target at equal loudness
        from dmc.audio import read_audio

        audio, _ = read_audio(tmp_path / "songs" / entry.song_id / "mix.wav")
        write_audio(system / f"{entry.song_id}.wav", audio * 0.35, RATE)
    code, _, err = run_main(
        ["import", "--method", "engineer", "--from", str(system), "--out", str(tmp_path / "out")],
        capsys,
    )
    assert code == 0, err
    for entry in load_manifest(tmp_path / "out").passages("full"):
        extra = entry.condition("engineer").extra
        assert extra["imported"]["metrics_reference"] == "target", err
        assert extra["imported"]["window"] == "song"
        assert extra["metrics"]["sd_mrstft"] < 0.01
        assert entry.condition("mono").extra["metrics"]["sd_mrstft"] > 1.0


def test_without_a_reference_mix_the_render_has_no_target_and_the_design_says_so(tmp_path, capsys):
    write_songs(tmp_path / "songs", with_mix=False)
    code, _, err = render(tmp_path / "songs", tmp_path / "out", "mono,target", capsys)
    assert (
        code == 2
        and "target need(s) a reference mix, which 'take1' and 1 other song(s) lack(s)" in err
    )
    assert not (tmp_path / "out").exists()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "metrics.png").write_bytes(b"a plot of an earlier render")
    code, out, err = render(tmp_path / "songs", tmp_path / "out", "mono,random", capsys)
    assert code == 0, err
    manifest = load_manifest(tmp_path / "out")
    assert [e.methods for e in manifest.passages("full")] == [["mono", "random"]] * 2
    assert all(c.extra["metrics"] is None for e in manifest.passages("full") for c in e.conditions)
    # the summary says why there are no metrics, and lists no plot it did not write
    assert "no metrics: no passage has a target (a reference mix)" in out
    assert out.strip().endswith("metrics.csv (no plot: no target to measure against)"), out
    assert not (tmp_path / "out" / "metrics.png").exists()  # no figure outlives its numbers
    with pytest.raises(
        DesignError, match=r"has no 'target' condition .* set reference: none in the test config"
    ):
        build_design(manifest, design_config.TestConfig())
    with pytest.raises(DesignError, match="set reference: none and anchors: false"):
        build_design(manifest, design_config.TestConfig(reference="none", anchors=("anchor_7k",)))
    config = design_config.load_config("evaluation/configs/no-reference.yaml")
    design = build_design(manifest, config)
    assert [t.methods for t in design.trials] == [("random", "mono")] * 2
    assert all(t.reference_method is None for t in design.trials)


def test_folder_tasks_and_roots_are_checked_before_anything_is_written(tmp_path, capsys):
    write_songs(tmp_path / "songs", with_mix=False)
    for options, message in (
        (["--task", "drums"], "holds no 'drums' songs"),
        (["--anchors"], "anchor_3k5, anchor_7k need(s) a reference mix"),
    ):
        code, _, err = run_main(
            ["testset", "--data", "folder", "--root", str(tmp_path / "songs"), "--methods", "mono",
             "--seconds", "2", "--out", str(tmp_path / "out"), *options],
            capsys,
        )  # fmt: skip
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    code, _, err = run_main(["testset", "--data", "folder", "--methods", "mono"], capsys)
    assert code == 2 and "--data folder needs --root PATH" in err
    assert not (tmp_path / "out").exists()
