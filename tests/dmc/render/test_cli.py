"""``python -m dmc.render testset``: one-line refusals of bad input, and a whole run on ENST-layout files."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

import dmc.mixers.spec
import dmc.render.planning
from dmc.contracts.files import file_sha256
from dmc.contracts.manifest import load_manifest
from dmc.datasets import DatasetError

from .conftest import run_main

BAD_INPUT = [
    (["--methods", "nope"], "unknown method 'nope'; choose from console, console_dsp, mono"),
    (["--task", "jazz"], "unknown task 'jazz'; choose one of drums, full"),
    (["--task", "full", "--methods", "demucs"], "method 'demucs' does not serve task 'full'"),
    (
        ["--methods", "demucs"],  # both tasks: demucs mixes drums only, and full needs one
        "none of --methods demucs mixes task 'full'; add one that does, or render --task drums",
    ),
    (["--data", "nope"], "unknown dataset 'nope'"),
    (["--data", "enst", "--methods", "mono"], "--data enst needs --root PATH"),
    (
        ["--data", "enst", "--root", "{missing}", "--methods", "mono"],
        "dataset folder {missing} does not exist",
    ),
    (
        ["--data", "enst", "--task", "full", "--root", "{enst}"],
        "--data enst holds no 'full' multitracks",
    ),
    (["--seconds", "0"], "--seconds must be positive"),
    (
        ["--data", "enst", "--root", "{enst}", "--methods", "mono", "--seconds", "30"],
        "passage of 30 s is longer than song 'drummer_3_001_phrase_rock' (3.00 s)",
    ),
    (
        ["--data", "enst", "--root", "{enst}", "--methods", "mono", "--passages", "nosuchsong"],
        "unknown passage or song id(s) nosuchsong; songs: drummer_3_001_phrase_rock",
    ),
    (
        ["--data", "enst", "--root", "{enst}", "--methods", "mono", "--passages", "0"],
        "--passages must be at least 1",
    ),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
]


@pytest.mark.parametrize("options, message", BAD_INPUT)
def test_bad_input_stops_with_one_line_and_exit_status_2(
    options, message, enst_root, tmp_path, capsys
):
    fill = {"missing": str(tmp_path / "missing"), "enst": str(enst_root)}
    options = [o.format(**fill) for o in options]
    out = tmp_path / "out"
    code, stdout, stderr = run_main(
        ["testset", *options, "--out", str(out), "--no-progress"], capsys
    )
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "error: " in lines[0] and message.format(**fill) in lines[0]
    assert stdout == ""
    assert not out.exists()  # stopped before writing anything


def test_a_missing_console_checkpoint_is_refused_before_loading_any_data(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(dmc.mixers.spec, "CHECKPOINT_DIR", tmp_path / "checkpoints")
    code, _, stderr = run_main(
        [
            "testset",
            "--data",
            "enst",
            "--root",
            str(tmp_path / "nowhere"),
            "--out",
            str(tmp_path / "out"),
        ],
        capsys,
    )
    assert code == 2
    assert stderr.strip() == (
        f"dmc.render: error: method 'console' needs the checkpoint {tmp_path / 'checkpoints' / 'console_drums.pt'}, "
        "which does not exist (make it with `python -m dmc.train console --task drums --export "
        f"{tmp_path / 'checkpoints' / 'console_drums.pt'}`)"
    )


def test_the_module_entry_point_exits_non_zero_with_one_line(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dmc.render",
            "testset",
            "--methods",
            "mono,nope",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        (
            "dmc.render: error: unknown method 'nope'; choose from console, console_dsp, mono, random, demucs, target, "
            "anchor_3k5, anchor_7k"
        )
    ]
    assert done.stdout == ""


def test_a_whole_run_on_enst_files_writes_everything_and_a_rerun_skips_it(
    enst_root, tmp_path, capsys
):
    out = tmp_path / "render"
    argv = [
        "testset",
        "--data",
        "enst",
        "--root",
        str(enst_root),
        "--methods",
        "mono,random,target",
        "--anchors",
        "--seconds",
        "2",
        "--out",
        str(out),
        "--no-progress",
        "--workers",
        "0",
    ]
    code, stdout, stderr = run_main(argv, capsys)
    assert code == 0, stderr
    assert {p.name for p in out.iterdir()} == {
        "audio",
        "manifest.json",
        "params.json",
        "metrics.csv",
        "metrics.png",
    }
    manifest = load_manifest(out)
    manifest.check_files()
    (passage,) = manifest.passages("drums")
    assert passage.methods == ["mono", "random", "target", "anchor_3k5", "anchor_7k"]
    assert len(passage.track_names) == 8
    assert manifest.settings["data"] == "enst" and manifest.seeds == {"random": 0}
    with open(out / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["method"] for r in rows) == ["anchor_3k5", "anchor_7k", "mono", "random"]
    assert "task drums: mean error against the target" in stdout
    assert "5 rendered, 0 up to date" in stdout

    code, stdout, _ = run_main(argv, capsys)
    assert code == 0 and "0 rendered, 5 up to date" in stdout
    code, stdout, _ = run_main([*argv, "--force"], capsys)
    assert code == 0 and "5 rendered, 0 up to date" in stdout
    assert load_manifest(out).files().keys() == manifest.files().keys()


def test_demucs_is_rendered_from_the_checkpoint_folder_in_its_eight_slot_layout(
    enst_root, standin_checkpoints, tmp_path, capsys
):
    out = tmp_path / "render"
    code, _, stderr = run_main(
        [
            "testset",
            "--data",
            "enst",
            "--root",
            str(enst_root),
            "--checkpoints",
            str(standin_checkpoints),
            "--methods",
            "demucs,target",
            "--seconds",
            "2",
            "--out",
            str(out),
            "--no-progress",
        ],
        capsys,
    )
    assert code == 0, stderr
    manifest = load_manifest(out)
    assert manifest.passages("drums")[0].methods == ["demucs", "target"]
    checkpoint = manifest.checkpoints["demucs_drums"]
    assert checkpoint["sha256"] == file_sha256(standin_checkpoints / "demucs_drums.pt")
    params = json.loads((out / "params.json").read_text())["tasks"]["drums"]
    assert all(
        entry["methods"] == {} for entry in params.values()
    )  # demucs has no readable parameters


def test_passage_ids_select_across_tasks_and_a_task_without_any_is_left_out():
    from dmc.render.cli import get_parser
    from dmc.render.planning import plan

    args = get_parser().parse_args(
        ["testset", "--methods", "mono", "--passages", "demo-drums-test-001", "--seconds", "4"]
    )
    plans, _ = plan(args)
    assert [(p.task, [s.song_id for s, _ in p.passages]) for p in plans] == [
        ("drums", ["demo-drums-test-001"])
    ]
    args = get_parser().parse_args(
        ["testset", "--methods", "mono", "--passages", "2", "--seconds", "4"]
    )
    assert [len(p.passages) for p in plan(args)[0]] == [2, 2]


def test_the_first_n_passages_of_the_demo_generate_only_n_songs_and_smoke_caps_them(
    tmp_path, monkeypatch, capsys
):
    asked = []

    def load_songs(data, task, split, root=None, **options):
        asked.append((task, options))
        raise DatasetError("stop before rendering")

    monkeypatch.setattr(dmc.render.planning, "load_songs", load_songs)
    out = ["--methods", "mono", "--out", str(tmp_path / "out")]
    for passages, expected in (("2", {"num_songs": 2}), ("100", {"num_songs": 5}), ("song3", {})):
        asked.clear()
        code, _, err = run_main(
            ["testset", "--task", "drums", "--passages", passages, *out], capsys
        )
        assert code == 2 and asked == [("drums", expected)], err
    asked.clear()
    monkeypatch.setenv("DMC_SMOKE", "1")
    code, _, err = run_main(["testset", "--task", "drums", *out], capsys)
    assert asked == [("drums", {"num_songs": 3})]
    assert err.splitlines()[0] == (
        "dmc.render: note: DMC_SMOKE is set: a smoke render (--passages 3, --seconds 2, --workers 0)"
    )
