import numpy as np
import pytest

from dmc.audio import integrated_loudness, write_audio
from dmc.multitrack import Passage, Song, Track, find_passages
from dmc.staging import GainStaging, active_tracks

SR = 44100


def _song(make_drums, seconds=12.0, silent_from=None):
    kick = make_drums(seconds, seed=1)
    snare = make_drums(seconds, seed=2) * 0.1
    target = np.stack([kick + snare, kick + 0.5 * snare])
    if silent_from is not None:
        target[:, int(silent_from * SR) :] = 0
    return Song(
        "s1",
        [Track("kick", "kick", audio=kick), Track("snare", "snare", audio=snare)],
        SR,
        kick.size,
        target=Track("mix", "other", audio=target),
    )


def test_track_needs_exactly_one_source_and_a_known_role(tmp_path):
    with pytest.raises(ValueError, match="exactly one"):
        Track("x", "kick")
    with pytest.raises(ValueError, match="banjo"):
        Track("x", "banjo", audio=np.zeros(4))


def test_lazy_track_reads_resample_and_pad(tmp_path, make_drums):
    x = make_drums(2.0, sample_rate=48000)
    path = write_audio(tmp_path / "kick.wav", x, 48000)
    track = Track("kick", "kick", path=path)
    out = track.read(SR, start=SR // 2, num_samples=SR)
    assert out.shape == (1, SR)
    full = track.read(SR)
    np.testing.assert_allclose(
        out[0, 1000:2000], full[0, SR // 2 + 1000 : SR // 2 + 2000], atol=2e-3
    )
    tail = track.read(SR, start=2 * SR - 100, num_samples=1000)
    assert tail.shape == (1, 1000) and np.all(tail[0, 200:] == 0)


def test_song_excerpt_and_duplicate_names(make_drums):
    song = _song(make_drums)
    ex = song.excerpt(SR, 2 * SR)
    assert ex.num_samples == 2 * SR and ex.track_audio().shape == (2, 2 * SR)
    np.testing.assert_array_equal(ex.target_audio(), song.target_audio()[:, SR : 3 * SR])
    with pytest.raises(ValueError, match="outside"):
        song.excerpt(11 * SR, 2 * SR)
    with pytest.raises(ValueError, match="duplicate"):
        Song("d", [Track("a", audio=np.zeros(3)), Track("a", audio=np.zeros(3))], SR, 3)


def test_passages_avoid_silence_and_do_not_overlap(make_drums):
    song = _song(make_drums, seconds=20.0, silent_from=9.0)
    passages = find_passages(song, 4.0, count=2)
    assert len(passages) == 2
    (a, b) = passages
    assert a.start_seconds + 4.0 <= b.start_seconds
    assert b.start_seconds + 4.0 <= 9.0 + 0.25 * 4.0  # never mostly inside the silent part
    assert a.passage_id.startswith("s1@")
    with pytest.raises(ValueError, match="longer than song"):
        find_passages(song, 25.0)
    silent = Song("z", [Track("a", audio=np.zeros(SR * 3))], SR, SR * 3)
    with pytest.raises(ValueError, match="loud enough"):
        find_passages(silent, 1.0)


def test_passage_sample_range():
    assert Passage("s", 1.5, 2.0).sample_range(SR) == (int(1.5 * SR), 2 * SR)


def test_gain_staging_trims_to_target_and_caps_boost(make_drums):
    loud = make_drums(5.0, seed=3) * 3
    quiet = make_drums(5.0, seed=4) * 0.01  # about -65 LUFS: needs more than the cap
    silent = np.zeros_like(loud)
    staging = GainStaging(target_lufs=-30.0, max_gain_db=30.0)
    staged = staging.apply(np.stack([loud, quiet, silent]), SR)
    assert integrated_loudness(staged[0][None], SR) == pytest.approx(-30.0, abs=0.05)
    gains = staging.gains_db(np.stack([loud, quiet, silent]), SR)
    assert gains[1] == pytest.approx(30.0) and gains[2] == 0.0
    np.testing.assert_array_equal(active_tracks(staged, SR), [True, True, False])
