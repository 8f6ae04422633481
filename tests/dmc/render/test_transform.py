"""``python -m dmc.render transform``: the emulation table, rendered with tiny stand-in TCNs."""

from __future__ import annotations

import csv
import inspect
import json
import shutil

import numpy as np
import pytest
import torch

from dmc.audio import decode_mp3, integrated_loudness, write_audio
from dmc.checkpoint import save_model
from dmc.contracts.files import file_sha256
from dmc.contracts.manifest import load_manifest
from dmc.effects.params import TCN_PARAMETERS, effect_activity
from dmc.nn.tcn import TCN
from dmc.render.cli import main
from dmc.render.emulation import GAIN_RANGE_DB, ROLE_GROUPS, draw_settings
from dmc.render.naming import OPAQUE_NAME
from dmc.train.data import EffectTriples

from .conftest import run_main

METHODS = ["input", "target", "tcn10", "tcn20", "tcn30"]
#: A tiny TCN (as the model tests' ``tiny`` fixture), fast enough for seconds of audio.
TINY_TCN = {"num_blocks": 3, "kernel_size": 3, "channels": 4, "cond_dims": [8, 8]}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """tcn10 and tcn20 with random weights (they change the sound); tcn30 untrained (the identity)."""
    folder = tmp_path_factory.mktemp("checkpoints")
    for seed, name in enumerate(("tcn10", "tcn20", "tcn30")):
        torch.manual_seed(seed)
        model = TCN(**TINY_TCN)
        if name != "tcn30":
            generator = torch.Generator().manual_seed(seed)
            with torch.no_grad():
                for p in model.parameters():
                    p.copy_(torch.randn(p.shape, generator=generator) * 0.3)
        save_model(folder / f"{name}.pt", model)
    return folder


@pytest.fixture(scope="module")
def rendered(checkpoints, tmp_path_factory):
    """One render of 2 passages x 1 s of the demo test split: ``(out, stdout)``."""
    out = tmp_path_factory.mktemp("transform") / "table"
    code = main(
        [
            "transform",
            "--passages",
            "2",
            "--seconds",
            "1",
            "--checkpoints",
            str(checkpoints),
            "--out",
            str(out),
            "--no-progress",
            "--workers",
            "0",
        ]
    )
    assert code == 0
    return out


def _metrics(out):
    with open(out / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_passage_has_all_five_conditions_under_opaque_names(rendered, checkpoints):
    manifest = load_manifest(rendered)
    manifest.check_files()
    assert list(manifest.tasks) == ["emulation"]
    passages = manifest.passages("emulation")
    assert len(passages) == 2
    for passage in passages:
        assert passage.methods == METHODS
        assert len(passage.track_names) == 1 and passage.passage_id.startswith(
            f"{passage.song_id}."
        )
        for condition in passage.conditions:
            assert OPAQUE_NAME.match(condition.file) and condition.method not in condition.file
            assert file_sha256(rendered / condition.file) == condition.sha256
    assert len(manifest.files()) == 10
    assert {name: c["sha256"] for name, c in manifest.checkpoints.items()} == {
        name: file_sha256(checkpoints / f"{name}.pt") for name in ("tcn10", "tcn20", "tcn30")
    }
    assert manifest.settings["data"] == "demo" and manifest.settings["tcns"] == [
        "tcn10",
        "tcn20",
        "tcn30",
    ]


def test_decoded_files_sit_at_minus_23_lufs(rendered):
    manifest = load_manifest(rendered)
    for name, condition in manifest.files().items():
        audio, rate = decode_mp3(rendered / name)
        assert audio.shape == (2, rate) and rate == 44100
        assert abs(integrated_loudness(audio, rate) + 23.0) < 0.5, condition.method
        assert abs(condition.loudness_lufs + 23.0) < 0.5


def test_metrics_score_every_condition_against_the_real_chain(rendered):
    rows = _metrics(rendered)
    assert "method" in rows[0] and any("stft" in column for column in rows[0])
    assert [(r["label"], r["method"]) for r in rows] == [
        (label, m) for label in "AB" for m in METHODS
    ]
    for label in "AB":
        error = {r["method"]: float(r["mrstft"]) for r in rows if r["label"] == label}
        normalised = {r["method"]: float(r["sd_mrstft"]) for r in rows if r["label"] == label}
        assert error["input"] > 0.05 and normalised["input"] > 0.01  # the chain changes the sound
        assert error["target"] < 1e-6 and normalised["target"] < 1e-6
        assert error["tcn30"] == pytest.approx(
            error["input"], rel=1e-4
        )  # an untrained TCN passes its input
        assert abs(error["tcn10"] - error["input"]) > 1e-3  # a trained one does not


def test_passages_are_different_instruments_with_every_effect_on(rendered):
    params = json.loads((rendered / "params.json").read_text())
    rows = list(params["passages"].values())
    assert [row["label"] for row in rows] == ["A", "B"]
    assert rows[0]["role"] in ROLE_GROUPS[0] and rows[1]["role"] in ROLE_GROUPS[1]
    for row in rows:
        settings = row["settings"]
        assert abs(settings.pop("input_gain_db")) <= GAIN_RANGE_DB
        values = TCN_PARAMETERS.from_dict(settings, fill_defaults=False)  # real units, in range
        normalized = torch.tensor([row["normalized"][name] for name in TCN_PARAMETERS.names])
        np.testing.assert_allclose(TCN_PARAMETERS.normalize(values), normalized.numpy(), atol=1e-5)
        assert bool((effect_activity(normalized) > 0).all())


def test_settings_follow_the_tcn_training_distribution_without_bypass():
    assert inspect.signature(EffectTriples).parameters["gain_range_db"].default == GAIN_RANGE_DB
    draws = [draw_settings(seed) for seed in range(200)]
    assert draw_settings(7).normalized.tolist() == draws[7].normalized.tolist()
    normalized = torch.tensor(np.stack([d.normalized for d in draws]))
    assert bool((effect_activity(normalized) > 0).all())  # no group ever left neutral
    assert 0.4 < float(normalized.mean()) < 0.6 and float(normalized.min()) < 0.02 < 0.98 < float(
        normalized.max()
    )


def test_the_design_and_the_web_app_accept_the_table(rendered, capsys):
    from evaluation.design.__main__ import main as design_main
    from webapp.services.study import load_study

    assert design_main(["--manifest", str(rendered)]) == 0
    assert "emulation:" in capsys.readouterr().out
    study = load_study(rendered / "manifest.json", None)
    trial = study.design.trials[0]
    assert trial.task == "emulation" and set(trial.methods) == set(METHODS)
    assert len(study.audio_files) == 10


def test_a_rerun_renders_nothing_and_fewer_passages_remove_the_rest(
    rendered, checkpoints, tmp_path, capsys
):
    out = tmp_path / "table"
    shutil.copytree(rendered, out)
    before = {p.name: p.stat().st_mtime_ns for p in (out / "audio").iterdir()}
    argv = [
        "transform",
        "--passages",
        "2",
        "--seconds",
        "1",
        "--checkpoints",
        str(checkpoints),
        "--out",
        str(out),
        "--no-progress",
        "--workers",
        "0",
    ]
    code, stdout, stderr = run_main(argv, capsys)
    assert code == 0, stderr
    assert "0 rendered, 10 up to date, 0 stale removed" in stdout
    assert {p.name: p.stat().st_mtime_ns for p in (out / "audio").iterdir()} == before
    code, stdout, _ = run_main([*argv[:2], "B", *argv[3:]], capsys)
    assert code == 0 and "0 rendered, 5 up to date, 5 stale removed" in stdout
    manifest = load_manifest(out)
    assert [p.passage_id for p in manifest.passages("emulation")] == [
        p.passage_id for p in load_manifest(rendered).passages("emulation")[1:]
    ]
    assert len(list((out / "audio").iterdir())) == 5


def test_a_changed_checkpoint_renders_its_conditions_again(rendered, checkpoints, tmp_path, capsys):
    out, folder = tmp_path / "table", tmp_path / "checkpoints"
    shutil.copytree(rendered, out)
    shutil.copytree(checkpoints, folder)
    torch.manual_seed(5)
    save_model(folder / "tcn20.pt", TCN(**TINY_TCN))
    argv = ["transform", "--passages", "2", "--seconds", "1", "--checkpoints", str(folder)]
    code, stdout, _ = run_main(
        [*argv, "--out", str(out), "--no-progress", "--workers", "0"], capsys
    )
    assert code == 0 and "2 rendered, 8 up to date" in stdout
    manifest = load_manifest(out)
    assert manifest.checkpoints["tcn20"]["sha256"] == file_sha256(folder / "tcn20.pt")
    assert manifest.files().keys() == load_manifest(rendered).files().keys()  # same opaque names


def test_a_checkpoint_that_is_not_a_tcn_is_refused(tmp_path, capsys):
    from dmc.nn.encoder import TrackEncoder

    save_model(tmp_path / "tcn10.pt", TrackEncoder(embedding_dim=8, channels=[4, 8], num_mels=16))
    argv = ["transform", "--tcns", "tcn10", "--checkpoints", str(tmp_path), "--passages", "1"]
    code, _, stderr = run_main([*argv, "--seconds", "1", "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and not (tmp_path / "out").exists()
    assert stderr.strip() == (
        f"dmc.render: error: {tmp_path / 'tcn10.pt'} holds a TrackEncoder, not a TCN; "
        "pass a transformation network"
    )


def test_signaltrain_test_inputs_are_a_source(checkpoints, tmp_path, capsys):
    root = tmp_path / "SignalTrain"
    rng = np.random.default_rng(0)
    for folder, numbers in (("Train", (1,)), ("Val", (2,)), ("Test", (3, 4, 5))):
        for n in numbers:
            audio = (
                0.1 * rng.standard_normal(int(1.5 * 44100)) * np.hanning(int(1.5 * 44100))
            ).astype(np.float32)
            write_audio(root / folder / f"input_{n}_.wav", audio[None], 44100)
            write_audio(root / folder / f"target_{n}_LA2A_3c__0__50.wav", 0.5 * audio[None], 44100)
    out = tmp_path / "table"
    code, _, stderr = run_main(
        [
            "transform",
            "--data",
            "signaltrain",
            "--root",
            str(root),
            "--tcns",
            "tcn10",
            "--passages",
            "2",
            "--seconds",
            "1",
            "--checkpoints",
            str(checkpoints),
            "--out",
            str(out),
            "--no-progress",
            "--workers",
            "0",
        ],
        capsys,
    )
    assert code == 0, stderr
    manifest = load_manifest(out)
    assert manifest.settings["data"] == "signaltrain"
    passages = manifest.passages("emulation")
    assert {p.song_id for p in passages} <= {
        "signaltrain-003",
        "signaltrain-004",
        "signaltrain-005",
    }
    assert len({p.song_id for p in passages}) == 2
    assert all(p.methods == ["input", "target", "tcn10"] for p in passages)


BAD_INPUT = [
    (
        ["--tcns", "tcn10,tcn99"],
        "unknown TCN preset 'tcn99' in --tcns; choose from tcn10, tcn20, tcn30",
    ),
    (
        ["--tcns", "tcn10,tcn20", "--checkpoints", "{partial}"],
        "TCN 'tcn20' needs the checkpoint {partial}/tcn20.pt, which does not exist "
        "(train it with `python -m dmc.train transform --preset tcn20 --export {partial}/tcn20.pt`",
    ),
    (
        ["--data", "signaltrain", "--root", "{elsewhere}"],
        "{elsewhere} is not SignalTrain's layout; expected "
        "Train/, Val/ and Test/ folders holding input_<n>_.wav",
    ),
    (["--data", "signaltrain"], "--data signaltrain needs --root PATH"),
    (
        ["--data", "enst"],
        "unknown dataset 'enst' for the emulation table; choose one of demo, signaltrain",
    ),
    (["--seconds", "0"], "--seconds must be positive, got 0.0"),
    (["--seconds", "60"], "passage of 60 s is longer than every source"),
    (["--passages", "0"], "--passages must be from 1 to 26, got 0"),
    (["--passages", "A,nosuch"], "unknown passage(s) nosuch; use labels A, B, ... or passage ids"),
    (["--checkpoints", "{missing}"], "checkpoint folder {missing} does not exist"),
    (["--device", "abacus"], "unknown --device 'abacus'; use cpu, cuda or cuda:N"),
]


def test_by_default_the_networks_with_a_checkpoint_are_rendered_and_the_others_named(
    checkpoints, tmp_path, capsys
):
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(checkpoints / "tcn10.pt", partial / "tcn10.pt")
    out = tmp_path / "out"
    argv = ["transform", "--checkpoints", str(partial), "--passages", "1", "--seconds", "1"]
    code, _, stderr = run_main(
        [*argv, "--out", str(out), "--no-progress", "--workers", "0"], capsys
    )
    assert code == 0, stderr
    assert (
        f"dmc.render: note: no checkpoint for tcn20, tcn30 in {partial}: rendering tcn10 "
        f"(make one with `python -m dmc.train transform --preset tcn20 --export {partial / 'tcn20.pt'}`)"
    ) in stderr.splitlines()
    methods = {c.method for e in load_manifest(out).tasks["emulation"] for c in e.conditions}
    assert "tcn10" in methods and not methods & {"tcn20", "tcn30"}


@pytest.mark.parametrize("options, message", BAD_INPUT)
def test_bad_input_stops_with_one_line_and_nothing_written(
    options, message, checkpoints, tmp_path, capsys
):
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(checkpoints / "tcn10.pt", partial / "tcn10.pt")
    (tmp_path / "elsewhere" / "drummer_1").mkdir(parents=True)
    fill = {
        "partial": str(partial),
        "elsewhere": str(tmp_path / "elsewhere"),
        "missing": str(tmp_path / "missing"),
    }
    options = [o.format(**fill) for o in options]
    if "--checkpoints" not in options:
        options += ["--checkpoints", str(checkpoints)]
    out = tmp_path / "out"
    code, stdout, stderr = run_main(
        ["transform", *options, "--out", str(out), "--no-progress"], capsys
    )
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("dmc.render: error: ") and message.format(**fill) in lines[0]
    assert stdout == "" and not out.exists()


def test_a_smoke_render_is_one_short_passage(monkeypatch, capsys):
    from argparse import Namespace

    from dmc.render.transform import _apply_smoke

    args = Namespace(passages=None, seconds=10.0, workers=None)
    _apply_smoke(args)
    assert (args.passages, args.seconds) == ("1", 2.0)
    assert capsys.readouterr().err == (
        "dmc.render: note: DMC_SMOKE is set: a smoke render (--passages 1, --seconds 2, --workers 0)\n"
    )
    args = Namespace(passages="A", seconds=1.0, workers=1)  # chosen by label, short, 1 worker: kept
    _apply_smoke(args)
    assert (args.passages, args.seconds, args.workers) == ("A", 1.0, 1)
    assert capsys.readouterr().err == ""
