"""Training the Demucs baseline: the loss goes down, runs are recorded, checkpoints round-trip."""

from __future__ import annotations

import json

import demucs.demucs
import numpy as np
import pytest
import torch

from dmc.checkpoint import save_model
from dmc.datasets import DatasetError
from dmc.losses import StereoSumDifferenceLoss
from dmc.multitrack import Song, Track
from dmc.nn.demucs import DRUM_TRACK_ORDER, DemucsMixer, arrange_drum_tracks
from dmc.pretrained import load_model
from dmc.train import demucs as train_demucs


def _pan_mix(tracks: np.ndarray) -> np.ndarray:
    """A fixed, learnable 'engineer': each track at its own gain and pan."""
    pans = np.linspace(0.1, 0.9, tracks.shape[0])
    gains = np.linspace(1.0, 0.3, tracks.shape[0])
    left = (gains * np.cos(pans * np.pi / 2)) @ tracks
    right = (gains * np.sin(pans * np.pi / 2)) @ tracks
    return np.stack([left, right]).astype(np.float32)


def test_a_few_steps_lower_the_loss(tiny_model, eight_tracks):
    tracks = eight_tracks(0.5)
    x = torch.from_numpy(tracks)[None]
    target = torch.from_numpy(_pan_mix(tracks))[None]
    criterion = StereoSumDifferenceLoss()
    optimizer = torch.optim.Adam(tiny_model.parameters(), lr=3e-3)
    losses = []
    for _ in range(12):
        loss = criterion(tiny_model(x), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-3:]) < 0.8 * losses[0]


def test_checkpoint_round_trip_rebuilds_the_same_model(tiny_model, eight_tracks, tmp_path):
    path = save_model(tmp_path / "demucs.pt", tiny_model, config={"note": "test"})
    package = torch.load(path, weights_only=True)  # plain values and tensors only
    assert package["class_name"] == "DemucsMixer" and package["kwargs"]["num_tracks"] == 8
    loaded = load_model(path)
    assert isinstance(loaded, demucs.demucs.Demucs)
    assert isinstance(loaded, DemucsMixer)
    assert loaded.init_kwargs == tiny_model.init_kwargs
    assert (loaded.sample_rate, loaded.num_tracks) == (8000, 8)
    x = torch.from_numpy(eight_tracks(0.3))[None]
    with torch.no_grad():
        assert torch.equal(loaded(x), tiny_model.eval()(x))


def test_command_trains_records_and_exports(tmp_path):
    export = tmp_path / "demucs_drums.pt"
    argv = [
        "--data",
        "synthetic",
        "--num-songs",
        "2",
        "--steps",
        "3",
        "--val-every",
        "2",
        "--val-items",
        "2",
        "--segment-seconds",
        "0.25",
        "--batch-size",
        "2",
        "--channels",
        "4",
        "--depth",
        "2",
        "--lstm-layers",
        "1",
        "--dconv-mode",
        "0",
        "--no-resample",
        "--run-dir",
        str(tmp_path / "run"),
        "--no-progress",
        "--export",
        str(export),
    ]
    record = train_demucs.main(argv)
    assert record["steps"] == 3
    assert record["command"].startswith("python -m dmc.train demucs --data synthetic")
    assert set(record["references"]) == {"mono mix", "untrained demucs"}
    saved = json.loads(export.with_suffix(".json").read_text())
    assert saved["final_validation"]["val_loss"] == pytest.approx(
        record["final_validation"]["val_loss"]
    )
    model = load_model(export)
    assert isinstance(model, DemucsMixer) and model.num_tracks == 8
    assert model.init_kwargs["channels"] == 4 and model.segment_seconds == 0.25
    assert model.init_kwargs["dconv_mode"] == 0 and model.resample is False


def _staged(roles, song_id="s"):
    tracks = [
        Track(f"{role}_{i}", role, audio=np.full((1, 4), i + 1, np.float32))
        for i, role in enumerate(roles)
    ]
    song = Song(song_id, tracks, 44100, 4)
    return train_demucs.StagedSong(song, np.zeros(len(roles), np.float32) + 6.0)


def test_songs_are_laid_out_by_role():
    laid = train_demucs.to_drum_layout([_staged(["overhead", "kick", "overhead"])])[0]
    assert laid.song.track_names == list(DRUM_TRACK_ORDER)
    gain = 10 ** (6.0 / 20)
    np.testing.assert_allclose(
        laid.tracks()[:, 0], [2 * gain, 0, 0, 0, 0, 0, 1 * gain, 3 * gain], rtol=1e-6
    )


def test_a_track_without_a_slot_is_a_dataset_error():
    with pytest.raises(DatasetError, match="odd-song.*'bass'"):
        train_demucs.to_drum_layout([_staged(["kick", "bass"], "odd-song")])


def test_arrays_are_laid_out_by_role():
    tracks = np.arange(3, dtype=np.float32)[:, None] * np.ones((3, 5), np.float32)
    laid = arrange_drum_tracks(tracks, ["tom", "snare", "tom"])
    np.testing.assert_array_equal(laid[:, 0], [0, 1, 0, 0, 2, 0, 0, 0])
    with pytest.raises(ValueError, match="no free slot for a 'kick' track \\(2 given\\)"):
        arrange_drum_tracks(tracks[:2], ["kick", "kick"])


@pytest.mark.parametrize(
    "option, message",
    [
        (["--depth", "0"], "bad model option: depth"),
        (["--segment-seconds", "0.01"], "at least 2049"),
    ],
)
def test_bad_command_options_are_one_line_errors(option, message, capsys):
    from dmc.cli import EXIT_BAD_INPUT
    from dmc.train.__main__ import main as train_main

    argv = ["demucs", "--data", "synthetic", "--num-songs", "1", "--no-progress", *option]
    assert train_main(argv) == EXIT_BAD_INPUT
    assert message in capsys.readouterr().err
