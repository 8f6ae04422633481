"""Demo songs: deterministic, shaped like ENST-Drums and MedleyDB, and recorded like real kits."""

from __future__ import annotations

import numpy as np
import pytest

from dmc.audio import integrated_loudness
from dmc.datasets.demo import drumkit, generate_song, grooves
from dmc.roles import ROLES, role_from_name

DRUM_NAMES = ["kick", "snare", "hihat", "tom_1", "tom_2", "tom_3", "overhead_L", "overhead_R"]
DRUM_ROLES = ["kick", "snare", "hihat", "tom", "tom", "tom", "overhead", "overhead"]


def test_same_seed_same_audio_and_different_songs_differ():
    first = generate_song("drums", "train", 7)
    again = generate_song("drums", "train", 7)
    other = generate_song("drums", "train", 8)
    assert first.song_id == "demo-drums-train-007"
    for a, b in zip(first.tracks, again.tracks):
        assert np.array_equal(a.audio, b.audio)
    assert np.array_equal(first.target.audio, again.target.audio)
    assert first.metadata == again.metadata
    n = min(first.num_samples, other.num_samples)
    assert not np.allclose(first.target.audio[:, :n], other.target.audio[:, :n])
    assert first.metadata["engineer"]["settings"] != other.metadata["engineer"]["settings"]


def test_drum_songs_have_the_enst_channels(drum_test_songs):
    for song in drum_test_songs:
        assert song.track_names == DRUM_NAMES
        assert song.roles == DRUM_ROLES
        assert song.sample_rate == 44100
        assert song.duration_seconds == pytest.approx(18.0)
        assert song.metadata["groove"] in grooves.STYLES
        assert 70 <= song.metadata["tempo_bpm"] <= 170
    # The test split is a showcase: a different groove and kit in every song.
    assert len({s.metadata["groove"] for s in drum_test_songs}) == len(drum_test_songs)
    assert len({s.metadata["kit"].split("+")[0] for s in drum_test_songs}) == len(drum_test_songs)


def test_every_track_and_target_sounds(drum_test_songs, full_test_songs):
    for song in [*drum_test_songs, *full_test_songs]:
        loaded = song.load()
        assert loaded.target.audio.shape == (2, song.num_samples)
        for track in loaded.tracks:
            assert track.audio.shape == (1, song.num_samples)
            assert integrated_loudness(track.audio, 44100) > -55, (song.song_id, track.name)
        assert integrated_loudness(loaded.target.audio, 44100) > -35


def test_band_songs_name_their_roles(full_test_songs):
    for song in full_test_songs:
        assert 6 <= len(song.tracks) <= 10
        assert {"bass", "lead", "kick"} <= set(song.track_names)
        for track in song.tracks:
            assert track.role in ROLES
            assert role_from_name(track.name) == track.role, track.name
        assert song.metadata["key"].split()[1] in ("major", "minor")
        assert len(song.metadata["chords"]) >= 2
    assert len({s.metadata["genre"] for s in full_test_songs}) == len(full_test_songs)


def test_overheads_are_a_real_stereo_pair(drum_song):
    left = drum_song.tracks[DRUM_NAMES.index("overhead_L")].audio[0]
    right = drum_song.tracks[DRUM_NAMES.index("overhead_R")].audio[0]
    assert not np.allclose(left, right)
    frame = 441
    env = [
        np.sqrt((x[: x.size // frame * frame].reshape(-1, frame) ** 2).mean(axis=1))
        for x in (left, right)
    ]
    assert np.corrcoef(*env)[0, 1] > 0.5  # the same kit, heard from two places
    assert abs(np.corrcoef(left, right)[0, 1]) < 0.9  # ...with different delays and levels


def test_close_mics_hear_the_rest_of_the_kit_later_and_quieter():
    rate, n = 44100, 44100
    sources = {s: np.zeros(n, np.float32) for s in drumkit.SOURCES}
    sources["kick"][1000] = 1.0  # one click from the kick only
    recording = drumkit.record(sources, tuple(DRUM_NAMES), np.random.default_rng(3))
    kick = recording.channels["kick"]
    assert np.argmax(np.abs(kick)) == 1000
    for name in ("snare", "hihat", "tom_1", "tom_2", "tom_3"):
        bleed = recording.channels[name]
        level_db = 20 * np.log10(np.max(np.abs(bleed)) / np.max(np.abs(kick)))
        assert -45 < level_db < -10, (name, level_db)
        assert np.argmax(np.abs(bleed) > 1e-4) > 1000, name  # arrives after the direct sound
    onsets = [np.argmax(np.abs(recording.channels[n]) > 1e-4) for n in ("overhead_L", "overhead_R")]
    assert min(onsets) > 1000 + rate * 0.003  # a metre or more away


def test_raw_channel_levels_are_unbalanced_like_real_recordings(drum_test_songs):
    spreads = []
    for song in drum_test_songs:
        loudness = song.metadata["raw_loudness_lufs"]
        spreads.append(max(loudness) - min(loudness))
    assert all(8.0 <= s <= 30.0 for s in spreads), spreads
    assert len({round(s, 1) for s in spreads}) == len(spreads)


def test_fills_and_crashes_happen():
    hits = grooves.perform(
        "rock",
        120.0,
        16.0,
        np.random.default_rng(1),
        grooves.make_drummer(np.random.default_rng(2)),
    )
    assert [h.time_seconds for h in hits] == sorted(h.time_seconds for h in hits)
    assert all(0.0 <= h.time_seconds < 16.0 for h in hits)
    pieces = {h.piece for h in hits}
    assert {"kick", "snare", "hihat_closed", "crash"} <= pieces
    assert pieces & {"tom_high", "tom_mid", "tom_low"}


def test_bad_generator_requests_are_named():
    with pytest.raises(ValueError, match="songs 0-4, got index 5"):
        generate_song("drums", "test", 5)
    with pytest.raises(ValueError, match="unknown demo task 'vocals'"):
        generate_song("vocals", "train", 0)
    with pytest.raises(ValueError, match="unknown groove style 'polka'"):
        grooves.perform("polka", 120.0, 4.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="unknown drum channel"):
        drumkit.record(
            {s: np.zeros(10, np.float32) for s in drumkit.SOURCES},
            ("cowbell",),
            np.random.default_rng(0),
        )
