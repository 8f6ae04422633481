"""--data folder: your own multitracks, tracks named by role, an optional reference mix."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from dmc.datasets import DatasetError, load_songs
from dmc.datasets.folder import folder_tasks, load_folder

from .conftest import RATE, signal, write

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


def make_song(folder, tracks, mix: str | None = "mix.wav", seconds: float = 1.0):
    folder.mkdir(parents=True)
    for i, name in enumerate(tracks):
        write(folder / name, seed=i, seconds=seconds)
    if mix:
        write(folder / mix, seed=99, channels=2, seconds=seconds)
    return folder


@pytest.fixture
def root(tmp_path):
    root = tmp_path / "songs"
    make_song(root / "kit", ["01_Kick In.wav", "snare_top.flac", "OH_L.wav", "OH_R.wav"])
    make_song(
        root / "band", ["kick.wav", "Bass DI.flac", "gtr_amp.wav", "vox.wav", "fx.wav"], mix=None
    )
    (root / "band" / "notes.txt").write_text("not a track")
    return root


def test_roles_come_from_file_names_and_the_mix_is_the_target(root):
    (kit,) = load_folder(root, "drums", "test", sample_rate=None)
    assert kit.song_id == "kit" and kit.sample_rate == RATE
    assert dict(zip(kit.track_names, kit.roles)) == {
        "01_Kick In": "kick", "OH_L": "overhead", "OH_R": "overhead", "snare_top": "snare",
    }  # fmt: skip
    assert kit.target is not None and kit.target.name == "mix"
    assert kit.target_audio().shape == (2, RATE)
    np.testing.assert_allclose(
        kit.track_audio()[kit.track_names.index("OH_L")], signal(2)[0], atol=1e-4
    )


def test_a_song_without_a_mix_has_no_target_and_unnamed_tracks_are_other(root):
    (band,) = load_folder(root, "full", "test", sample_rate=None)
    assert band.target is None and band.metadata["reference_mix"] is None
    assert dict(zip(band.track_names, band.roles)) == {
        "Bass DI": "bass", "fx": "other", "gtr_amp": "guitar", "kick": "kick", "vox": "vocals",
    }  # fmt: skip


def test_tasks_songs_of_drum_roles_only_are_drums_and_info_json_can_say_otherwise(root):
    assert folder_tasks(root) == ("drums", "full")
    assert [s.song_id for s in load_songs("folder", "full", "test", root=root)] == ["band"]
    (root / "kit" / "info.json").write_text(json.dumps({"task": "full"}))
    assert folder_tasks(root) == ("full",)
    assert load_folder(root, "drums", "test") == []


def test_info_json_roles_win_over_names(root):
    info = {"tracks": [{"file": "fx.wav", "role": "synth"}, {"file": "vox.wav", "role": None}]}
    (root / "band" / "info.json").write_text(json.dumps(info))
    (band,) = load_folder(root, "full", "test", sample_rate=None)
    assert dict(zip(band.track_names, band.roles))["fx"] == "synth"
    assert dict(zip(band.track_names, band.roles))["vox"] == "vocals"


def test_files_of_other_rates_and_lengths_are_resampled_and_padded(tmp_path):
    song = make_song(tmp_path / "s" / "a", ["kick.wav"], mix=None)
    write(song / "snare.wav", seed=5, seconds=0.5, rate=16000)
    (a,) = load_folder(tmp_path / "s", "drums", "test", sample_rate=RATE)
    assert a.num_samples == RATE
    audio = a.track_audio()
    assert audio.shape == (2, RATE) and not np.any(audio[1, RATE // 2 + 10 :])


def test_every_song_is_in_test_unless_a_split_file_says_otherwise(root):
    with pytest.raises(
        DatasetError, match=r"puts every song of .* in the test split; to train on them, list"
    ):
        load_folder(root, "drums", "train")
    (root / "split.csv").write_text("train,kit\ntest,band\n")
    assert [s.song_id for s in load_folder(root, "drums", "train")] == ["kit"]
    assert load_folder(root, "drums", "test") == []


def test_training_reads_the_folder_through_staged_songs(root):
    from dmc.train.cli import staged_songs

    (root / "split.csv").write_text("train,kit\nval,band\n")
    (staged,) = staged_songs("folder", ["drums"], "train", root, progress=False)
    assert staged.song_id == "kit"


@needs_ffmpeg
def test_tracks_and_mixes_in_formats_libsndfile_lacks_are_decoded(tmp_path):
    song = make_song(tmp_path / "s" / "a", ["kick.wav", "snare.wav"], mix=None)
    write(tmp_path / "mix.wav", seed=3, channels=2)
    for name, target in (("snare.wav", "snare.m4a"), ("../../mix.wav", "mix.m4a")):
        subprocess.run(
            ["ffmpeg", "-loglevel", "error", "-y", "-i", str(song / name), str(song / target)],
            check=True,
            timeout=60,
        )
    (song / "snare.wav").unlink()
    (a,) = load_folder(tmp_path / "s", "drums", "test", sample_rate=RATE)
    assert a.track_names == ["kick", "snare"] and a.target is not None
    assert a.metadata["decoded_with"] == ["ffmpeg"]
    assert (
        a.tracks[1].audio is not None and a.tracks[0].path is not None
    )  # decoded vs read on demand
    assert np.any(a.target_audio())


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda r: None, "holds no song folders"),
        (lambda r: make_song(r / "a", [], mix="mix.wav"), "holds no tracks"),
        (
            lambda r: make_song(r / "a", ["kick.wav", "mix.flac"], mix="target.wav"),
            "has 2 reference mixes",
        ),
        (lambda r: make_song(r / "a", ["kick.wav", "kick.flac"]), "two files for track(s) kick"),
        (
            lambda r: (make_song(r / "a", ["kick.wav"]) / "info.json").write_text(
                '{"task": "jazz"}'
            ),
            "task 'jazz'",
        ),
        (lambda r: (make_song(r / "a", ["kick.wav"]) / "kick.wav").write_text("x"), "cannot read"),
    ],
)
def test_bad_folders_are_refused_naming_the_problem(tmp_path, setup, message):
    root = tmp_path / "songs"
    root.mkdir()
    setup(root)
    with pytest.raises(DatasetError, match=message.replace("(", r"\(").replace(")", r"\)")):
        folder_tasks(root)
        load_folder(root, "drums", "test")


def test_a_missing_root_is_refused():
    with pytest.raises(DatasetError, match="--data folder needs --root PATH"):
        load_songs("folder", "drums", "test")
