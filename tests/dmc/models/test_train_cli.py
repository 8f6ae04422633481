"""The training commands' shared options: only the songs used are generated, smoke runs, one-line errors."""

from __future__ import annotations

import argparse
import json

import pytest
import torch

import dmc.train.cli as train_cli
from dmc.datasets.demo import SPLIT_SIZES
from dmc.train.__main__ import main as train_main


@pytest.fixture
def loads(monkeypatch):
    """Record every ``load_songs`` call of the training commands; nothing is generated."""
    calls = []

    def fake_load_songs(data, task, split, root=None, **options):
        calls.append((data, task, split, options))
        return [f"{task}-{split}-{i}" for i in range(options.get("num_songs", 3))]

    monkeypatch.setattr(train_cli, "load_songs", fake_load_songs)
    monkeypatch.setattr(train_cli, "stage_songs", lambda songs, **_: list(songs))
    return calls


def test_num_songs_generates_only_the_first_songs_of_a_demo_split(loads):
    songs = train_cli.staged_songs("demo", ["drums", "full"], "train", num_songs=2)
    assert songs == ["drums-train-0", "drums-train-1", "full-train-0", "full-train-1"]
    assert [options for *_, options in loads] == [{"num_songs": 2}, {"num_songs": 2}]


def test_num_songs_beyond_a_split_asks_for_the_whole_split(loads):
    train_cli.staged_songs("demo", ["full"], "val", num_songs=10_000)
    assert loads == [("demo", "full", "val", {"num_songs": SPLIT_SIZES["full"]["val"]})]


def test_without_num_songs_the_whole_split_is_loaded(loads):
    train_cli.staged_songs("demo", ["drums"], "val")
    assert loads == [("demo", "drums", "val", {})]


def _args(**values) -> argparse.Namespace:
    defaults = {"steps": 1000, "num_songs": None, "batch_size": 1, "segment_seconds": 2.0}
    return argparse.Namespace(**{**defaults, **values})


def test_a_smoke_run_lowers_the_settings_but_never_raises_them(monkeypatch, capsys):
    monkeypatch.setenv("DMC_SMOKE", "1")
    args = _args(val_items=24)
    train_cli.apply_smoke(args, "python -m dmc.train console")
    assert (args.steps, args.num_songs, args.batch_size, args.val_items) == (2, 2, 1, 2)
    assert args.segment_seconds == train_cli.SMOKE_CAPS["segment_seconds"]
    assert capsys.readouterr().err == (
        "python -m dmc.train console: note: DMC_SMOKE is set: a smoke run (--steps 2, "
        "--num-songs 2, --val-items 2, --segment-seconds 0.25)\n"
    )


@pytest.mark.parametrize("value", ["", "0"])
def test_without_smoke_nothing_changes(value, monkeypatch, capsys):
    monkeypatch.setenv("DMC_SMOKE", value)
    args = _args()
    train_cli.apply_smoke(args, "python -m dmc.train encoder")
    assert args == _args() and capsys.readouterr().err == ""


@pytest.mark.parametrize("exported", [True, False])
def test_a_smoke_run_of_the_documented_command_trains_two_steps_and_says_what_it_made(
    tmp_path, tiny, monkeypatch, capsys, exported
):
    """The run ends with one line: where the best model is, its validation loss and step,
    and the reference mixes' losses on the same segments."""
    monkeypatch.setenv("DMC_SMOKE", "1")
    encoder, _ = tiny.checkpoints()
    run, ship = tmp_path / "run", tmp_path / "ship" / "console_drums.pt"
    argv = ["console", "--task", "drums", "--data", "synthetic", "--encoder", str(encoder),
            "--hidden-dim", "16", "--run-dir", str(run), "--no-progress"]  # fmt: skip
    assert train_main([*argv, *(["--export", str(ship)] if exported else [])]) == 0
    record = json.loads((run / "record.json").read_text())
    assert record["steps"] == 2 and record["config"]["train_songs"] == 2
    out, err = capsys.readouterr()
    assert f"note: building on the encoder {encoder} (choose others with --encoder/--tcn)" in err
    best = torch.load(run / "best.pt", map_location="cpu", weights_only=True)["training"]
    where = (
        f"exported {ship} (record console_drums.json, curves console_drums.png)"
        if exported
        else f"best model {run / 'best.pt'}"
    )
    mono, random = record["references"]["mono mix"], record["references"]["random parameters"]
    assert out.splitlines()[-1] == (
        f"{where}: best validation loss {record['best_val_loss']:.3f} at step "
        f"{best['steps']} of 2; on the same segments: mono mix {mono:.3f}, random "
        f"parameters {random:.3f} (lower is better)"
    )
    assert ship.is_file() is exported and ship.with_suffix(".json").is_file() is exported


def test_evaluate_refuses_one_checkpoint_for_two_tasks_in_one_line(tmp_path, capsys):
    argv = ["evaluate", "--checkpoint", str(tmp_path / "c.pt"), "--csv", str(tmp_path / "e.csv")]
    assert train_main(argv) == 2
    assert capsys.readouterr().err == (
        "python -m dmc.train evaluate: error: --checkpoint holds one console: "
        "give --task drums or --task full\n"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--num-songs", "0"], "--num-songs must be 1 or more, got 0"),
        (["--steps", "0"], "--steps and --batch-size must be positive, got 0 and 32"),
        (["--no-such-option"], "unrecognized arguments: --no-such-option"),
    ],
)
def test_bad_loop_options_are_one_line_and_exit_status_2(options, message, tmp_path, capsys):
    try:
        code = train_main(["encoder", "--data", "synthetic", "--run-dir", str(tmp_path), *options])
    except SystemExit as exit:  # argparse's usage errors
        code = exit.code
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and ": error: " in err and message in err, err
