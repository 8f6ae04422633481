"""SignalTrain LA2A: its published folders read as clean single-track sources."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from dmc.audio import read_audio
from dmc.datasets import DatasetError, load_songs, load_sources
from dmc.datasets.signaltrain import load_signaltrain

RATE = 8000


def _quiet(root, split, **options):
    """Load, failing on any warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return load_signaltrain(root, split, **options)


def _warned(root, split, **options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        songs = load_signaltrain(root, split, **options)
    return songs, [str(w.message) for w in caught]


def test_splits_are_the_published_folders(signaltrain_root):
    ids = {
        split: [s.song_id for s in _quiet(signaltrain_root, split)]
        for split in ("train", "val", "test", "all")
    }
    assert ids["train"] == ["signaltrain-003", "signaltrain-007", "signaltrain-011"]
    assert ids["val"] == ["signaltrain-020"]
    assert ids["test"] == ["signaltrain-158", "signaltrain-201"]
    assert ids["all"] == ids["train"] + ids["val"] + ids["test"]  # sorted by file number


def test_an_input_is_a_single_clean_track_and_its_recording_is_described(signaltrain_root):
    song = _quiet(signaltrain_root, "test")[1]
    assert song.track_names == ["input"] and song.roles == ["other"]
    assert song.tracks[0].path == signaltrain_root / "Test" / "input_201_.wav"
    assert song.target is None  # the LA-2A recording is not a mix
    assert song.sample_rate == RATE and song.num_samples == RATE
    assert song.metadata["la2a"] == {
        "file": str(signaltrain_root / "Test" / "target_201_LA2A_3c__1__0.wav"),
        "unit": "3c",
        "mode": "limit",
        "peak_reduction": 0.0,
    }
    assert _quiet(signaltrain_root, "test")[0].metadata["la2a"]["mode"] == "compress"
    audio, _ = read_audio(song.tracks[0].path)
    np.testing.assert_array_equal(song.track_audio()[0], audio[0])


def test_sample_rate_option_resamples_on_read(signaltrain_root):
    song = _quiet(signaltrain_root, "val", sample_rate=16000)[0]
    assert song.sample_rate == 16000 and song.num_samples == 2 * RATE
    assert song.track_audio().shape == (1, 2 * RATE)


def test_min_seconds_leaves_out_short_inputs(signaltrain_root):
    assert _quiet(signaltrain_root, "test", min_seconds=1.0) != []
    assert _quiet(signaltrain_root, "test", min_seconds=1.5) == []


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda root: (root / "drummer_1" / "audio").mkdir(parents=True), "found: drummer_1"),
        (lambda root: (root / "Train").mkdir(parents=True), "found: Train"),
        (lambda root: root.mkdir(), "found: nothing"),
    ],
)
def test_a_folder_that_is_not_signaltrain_is_refused_in_one_line(tmp_path, make, expected):
    root = tmp_path / "elsewhere"
    make(root)
    with pytest.raises(DatasetError) as caught:
        load_signaltrain(root, "test")
    message = str(caught.value)
    assert "\n" not in message and str(root) in message and expected in message
    assert (
        "is not SignalTrain's layout; expected Train/, Val/ and Test/ folders holding input_<n>_.wav"
        in message
    )


def test_missing_root_and_missing_split_folder_name_what_was_expected(signaltrain_root, tmp_path):
    with pytest.raises(
        DatasetError, match="is not a folder; expected one holding Train/, Val/ and Test/"
    ):
        load_signaltrain(tmp_path / "nowhere", "train")
    for path in (signaltrain_root / "Test").iterdir():
        path.unlink()
    (signaltrain_root / "Test").rmdir()
    assert len(_quiet(signaltrain_root, "train")) == 3
    with pytest.raises(DatasetError, match=r"has no Test folder; expected Train/"):
        load_signaltrain(signaltrain_root, "test")
    with pytest.raises(DatasetError, match="unknown split 'dev'"):
        load_signaltrain(signaltrain_root, "dev")


def test_unpaired_and_oddly_named_files_are_reported_once(signaltrain_root):
    train = signaltrain_root / "Train"
    (train / "target_7_LA2A_3c__1__65.wav").unlink()  # an input without its recording
    (train / "input_11_.wav").unlink()  # a recording without its input
    (train / "target_99_la2a.wav").write_bytes(b"")  # not the published pattern
    (train / "notes.txt").write_text("ignored")
    songs, messages = _warned(signaltrain_root, "train")
    assert [s.song_id for s in songs] == ["signaltrain-003", "signaltrain-007"]
    assert songs[1].metadata["la2a"] is None
    assert len(messages) == 3
    assert any("1 input(s) without an LA-2A recording (kept as sources): 7" in m for m in messages)
    assert any("1 LA-2A recording(s) without an input (ignored): 11" in m for m in messages)
    assert any("target_99_la2a.wav" in m for m in messages)


def test_a_bad_input_raises_or_is_skipped(signaltrain_root):
    (signaltrain_root / "Test" / "input_158_.wav").write_bytes(b"not audio")
    with pytest.raises(
        DatasetError, match=r"signaltrain-158: cannot read audio file .*input_158_.wav"
    ):
        load_signaltrain(signaltrain_root, "test")
    songs, messages = _warned(signaltrain_root, "test", bad_files="skip")
    assert [s.song_id for s in songs] == ["signaltrain-201"]
    assert len(messages) == 1 and "skipped 1 song(s) with bad files" in messages[0]


def test_load_sources_reads_it_and_load_songs_refuses_it(signaltrain_root):
    assert [s.song_id for s in load_sources("signaltrain", "val", signaltrain_root)] == [
        "signaltrain-020"
    ]
    with pytest.raises(
        DatasetError, match="--data signaltrain holds clean single sources, not multitracks"
    ):
        load_songs("signaltrain", "full", "test", root=signaltrain_root)
    with pytest.raises(DatasetError, match="needs --root PATH"):
        load_sources("signaltrain", "test")
    with pytest.raises(
        DatasetError, match="unknown source dataset 'demo'; choose one of signaltrain"
    ):
        load_sources("demo", "test")


def test_tcn_pretraining_takes_its_clean_inputs(signaltrain_root, tmp_path):
    from dmc.train.__main__ import main as train_main

    run = tmp_path / "run"
    options = [
        "--channels",
        "2",
        "--num-blocks",
        "2",
        "--kernel-size",
        "3",
        "--batch-size",
        "2",
        "--segment-seconds",
        "0.25",
        "--steps",
        "2",
        "--val-every",
        "2",
        "--val-items",
        "2",
        "--threads",
        "1",
        "--no-progress",
        "--run-dir",
        str(run),
    ]
    assert (
        train_main(
            ["transform", "--data", "signaltrain", "--root", str(signaltrain_root), *options]
        )
        == 0
    )
    record = json.loads((run / "record.json").read_text())
    assert record["config"]["data"] == "signaltrain" and record["config"]["tasks"] == []
    assert (record["config"]["train_songs"], record["config"]["val_songs"]) == (
        3,
        1,
    )  # Train/ and Val/
    assert record["final_validation"]["val_input_mrstft"] > 0
