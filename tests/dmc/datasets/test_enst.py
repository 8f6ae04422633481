import warnings

import numpy as np
import pytest

from dmc.audio import read_audio
from dmc.datasets import DatasetError, load_songs
from dmc.datasets.enst import ENST_CHANNELS, load_enst

RATE = 8000
NAMES = ["kick", "snare", "hihat", "tom_1", "tom_2", "tom_3", "overhead_L", "overhead_R"]
ROLES = ["kick", "snare", "hihat", "tom", "tom", "tom", "overhead", "overhead"]


def _load(root, split="all", **options):
    """Load, accepting only the expected warning about drummer_2's missing tom_3."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        songs = load_enst(root, split, **options)
    messages = [str(w.message) for w in caught]
    unexpected = [m for m in messages if not ("drummer_2" in m and "tom_3" in m)]
    assert not unexpected, unexpected
    return songs, messages


def test_channels_roles_paths_and_lengths(enst_root):
    songs, _ = _load(enst_root)
    assert len(songs) == 30  # 10 phrases per drummer; hits left out
    song = next(s for s in songs if s.song_id == "drummer_1_003_phrase_rock_simple_take0_sticks")
    assert song.track_names == NAMES and song.roles == ROLES
    assert [name for name, _, _ in ENST_CHANNELS] == NAMES
    audio_dir = enst_root / "drummer_1" / "audio"
    assert song.tracks[2].path == audio_dir / "hi-hat" / "003_phrase_rock_simple_take0_sticks.wav"
    assert song.target.path == audio_dir / "wet_mix" / "003_phrase_rock_simple_take0_sticks.wav"
    assert song.sample_rate == RATE and song.num_samples == RATE
    assert song.metadata["missing_mics"] == [] and song.metadata["drummer"] == 1
    tracks = song.track_audio()
    assert tracks.shape == (8, RATE)
    kick, _ = read_audio(song.tracks[0].path)
    np.testing.assert_array_equal(tracks[0], kick[0])
    assert song.target_audio().shape == (2, RATE)


def test_missing_mic_folder_is_silent_with_one_warning_per_drummer(enst_root):
    songs, messages = _load(enst_root)
    assert len(messages) == 1 and "tom_3 in 10 of 10 takes" in messages[0]
    drummer_2 = [s for s in songs if s.metadata["drummer"] == 2]
    assert len(drummer_2) == 10
    for song in drummer_2:
        assert song.metadata["missing_mics"] == ["tom_3"]
        assert song.track_names == NAMES
        audio = song.track_audio()
        assert audio.shape == (8, song.num_samples)
        assert not np.any(audio[5]) and np.all(np.abs(audio[[0, 1, 2, 3, 4, 6, 7]]).max(axis=1) > 0)
        silent = song.tracks[5]
        assert (
            silent.audio.shape == (1, song.num_samples) and silent.audio.strides[1] == 0
        )  # no memory
    excerpt = drummer_2[0].excerpt(100, 400)
    assert excerpt.tracks[5].audio.shape == (1, 400) and not np.any(excerpt.tracks[5].audio)


def test_one_take_missing_one_mic(enst_root):
    (
        enst_root / "drummer_1" / "audio" / "snare" / "004_phrase_rock_simple_take1_sticks.wav"
    ).unlink()
    with pytest.warns(UserWarning) as record:
        songs = load_enst(enst_root, "all")
    messages = [str(w.message) for w in record]
    assert any("drummer_1" in m and "snare in 1 of 10 takes" in m for m in messages)
    song = next(s for s in songs if s.song_id.startswith("drummer_1_004"))
    assert song.metadata["missing_mics"] == ["snare"] and not np.any(song.track_audio()[1])


def test_targets_dry_mono_becomes_stereo_and_bad_target(enst_root):
    songs, _ = _load(enst_root, target="dry_mix", drummers=(1,))
    song = songs[0]
    assert song.target.path.parent.name == "dry_mix"
    target = song.target_audio()
    assert target.shape == (2, RATE) and np.array_equal(target[0], target[1]) and np.any(target)
    with pytest.raises(DatasetError, match="'stereo_mix'.*wet_mix, dry_mix"):
        load_enst(enst_root, "all", target="stereo_mix")


def test_hits_are_an_option(enst_root):
    songs, _ = _load(enst_root, include_hits=True, drummers=(1,))
    assert len(songs) == 12
    assert sum("_hits_" in s.song_id for s in songs) == 2


def test_split_is_deterministic_disjoint_and_complete(enst_root):
    parts = {
        split: [s.song_id for s in _load(enst_root, split)[0]] for split in ("train", "val", "test")
    }
    assert [len(parts[k]) for k in ("train", "val", "test")] == [24, 3, 3]
    assert set(parts["train"]).isdisjoint(parts["val"]) and set(parts["train"]).isdisjoint(
        parts["test"]
    )
    assert set(parts["val"]).isdisjoint(parts["test"])
    everything = {s.song_id for s in _load(enst_root, "all")[0]}
    assert set().union(*parts.values()) == everything
    assert [s.song_id for s in _load(enst_root, "test")[0]] == parts["test"]
    other_seed = {
        split: [s.song_id for s in _load(enst_root, split, seed=7)[0]] for split in ("val", "test")
    }
    assert other_seed != {k: parts[k] for k in ("val", "test")}


def test_split_file_accepts_ids_and_automix_paths(enst_root, tmp_path):
    split_file = tmp_path / "split.csv"
    split_file.write_text(
        "# split,id\n"
        "test,drummer_1_003_phrase_rock_simple_take0_sticks\n"
        f"test,{enst_root}/drummer_2/audio/wet_mix/005_phrase_rock_simple_take2_sticks.wav\n"
        "val,drummer_1_004_phrase_rock_simple_take1_sticks\n"
    )
    with pytest.warns(UserWarning) as record:
        test = load_enst(enst_root, "test", split_file=split_file, drummers=(1,))
    assert [s.song_id for s in test] == ["drummer_1_003_phrase_rock_simple_take0_sticks"]
    messages = sorted(str(w.message) for w in record)
    assert len(messages) == 2
    assert (
        "1 id(s) in split file" in messages[0] and "drummer_2_005" in messages[0]
    )  # drummer 2 not loaded
    assert "8 song(s) are not in split file" in messages[1]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        both = load_enst(enst_root, "test", split_file=split_file)
    assert {s.song_id for s in both} == {
        "drummer_1_003_phrase_rock_simple_take0_sticks",
        "drummer_2_005_phrase_rock_simple_take2_sticks",
    }
    assert any("not in split file" in str(w.message) for w in caught)
    (tmp_path / "bad.csv").write_text("holdout,drummer_1_003\n")
    with pytest.raises(DatasetError, match="unknown split 'holdout'"):
        load_enst(enst_root, "test", split_file=tmp_path / "bad.csv")


def test_min_seconds_and_sample_rate(enst_root, rewrite):
    rewrite(
        enst_root / "drummer_1" / "audio" / "wet_mix" / "003_phrase_rock_simple_take0_sticks.wav",
        seconds=0.5,
        channels=2,
    )
    with pytest.raises(DatasetError, match="003_phrase.*expected equal lengths"):
        load_enst(enst_root, "all", drummers=(1,))
    songs = load_enst(enst_root, "all", drummers=(1,), min_seconds=0.8)
    assert len(songs) == 9 and not any("take0" in s.song_id for s in songs)
    resampled = load_enst(enst_root, "all", drummers=(1,), min_seconds=0.8, sample_rate=16000)[0]
    assert resampled.sample_rate == 16000 and resampled.num_samples == 16000
    assert resampled.track_audio(0, 1600).shape == (8, 1600)
    assert resampled.metadata["file_sample_rate"] == RATE


def test_load_songs_plugs_in(enst_root):
    with pytest.warns(UserWarning, match="drummer_2"):
        songs = load_songs("enst", "drums", "train", root=enst_root)
    assert len(songs) == 24 and all(s.metadata["dataset"] == "enst" for s in songs)
    with pytest.raises(DatasetError, match="--root"):
        load_songs("enst", "drums", "train")


@pytest.mark.parametrize(
    "make_root,match",
    [
        (lambda tmp: tmp / "nowhere", r"nowhere is not a folder; expected one holding drummer_1"),
        (
            lambda tmp: (tmp / "empty").mkdir() or tmp / "empty",
            r"drummer_1 not found.*found: no folders",
        ),
        (
            lambda tmp: (tmp / "x" / "drummer_1" / "audio").mkdir(parents=True) or tmp / "x",
            r"drummer_1/audio/wet_mix not found; expected one wet_mix WAV per take",
        ),
    ],
)
def test_wrong_roots_name_the_path(tmp_path, make_root, match):
    with pytest.raises(DatasetError, match=match):
        load_enst(make_root(tmp_path), "train", drummers=(1,))


def test_bad_options(enst_root):
    with pytest.raises(DatasetError, match="unknown split 'dev'"):
        load_enst(enst_root, "dev")
    with pytest.raises(DatasetError, match="drummers must be"):
        load_enst(enst_root, "all", drummers=("one",))
    with pytest.raises(DatasetError, match="bad_files"):
        load_enst(enst_root, "all", bad_files="ignore")


def test_corrupt_file_names_it_or_is_skipped(enst_root):
    corrupt = (
        enst_root / "drummer_1" / "audio" / "tom_2" / "005_phrase_rock_simple_take2_sticks.wav"
    )
    corrupt.write_bytes(b"RIFF\x00\x00not really a wave file")
    with pytest.raises(
        DatasetError, match=r"cannot read audio file .*tom_2/005_phrase.*expected a readable WAV"
    ):
        load_enst(enst_root, "all", drummers=(1,))
    with pytest.warns(UserWarning, match=r"skipped 1 song\(s\) with bad files.*tom_2/005"):
        songs = load_enst(enst_root, "all", drummers=(1,), bad_files="skip")
    assert len(songs) == 9


def test_sample_rate_and_length_mismatches(enst_root, rewrite):
    take = "006_phrase_rock_simple_take3_sticks.wav"
    audio_dir = enst_root / "drummer_1" / "audio"
    rewrite(audio_dir / "kick" / take, seconds=SHORT_BY_3)
    with pytest.warns(
        UserWarning, match=r"padded/cut to the mix: drummer_1_006.*kick; up to -3 samples"
    ):
        songs = load_enst(enst_root, "all", drummers=(1,))
    song = next(s for s in songs if s.song_id == "drummer_1_006_phrase_rock_simple_take3_sticks")
    assert song.num_samples == RATE and song.track_audio().shape == (8, RATE)
    assert not np.any(song.track_audio()[0, -3:])
    rewrite(audio_dir / "overhead_R" / take, rate=16000)
    with pytest.raises(
        DatasetError, match=r"overhead_R/006.* is at 16000 Hz but .*wet_mix/006.* is at 8000 Hz"
    ):
        load_enst(enst_root, "all", drummers=(1,))


SHORT_BY_3 = (RATE - 3) / RATE
