"""dmc.stereo_image.estimate_pans: where a reference mix put each track, from the tracks and the mix."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from dmc.effects.chain import constant_power_pan
from dmc.stereo_image import estimate_pans, fit_mix, mirror_drum_kit

SR = 44100


def _sources(count: int, seconds: float = 6.0, seed: int = 0) -> np.ndarray:
    """Independent bursts of filtered noise: each track its own rhythm and colour."""
    rng = np.random.default_rng(seed)
    samples = int(seconds * SR)
    out = []
    for i in range(count):
        noise = rng.standard_normal(samples)
        b, a = signal.butter(2, [100 * (i + 1), 2000 * (i + 1)], btype="band", fs=SR)
        gate = np.repeat(rng.random(samples // 2205 + 1) < 0.6, 2205)[:samples]
        out.append(signal.lfilter(b, a, noise) * gate)
    return np.asarray(out, dtype=np.float32) * 0.1


def _mix(tracks: np.ndarray, pans, processed: np.ndarray | None = None) -> np.ndarray:
    source = tracks if processed is None else processed
    return sum(constant_power_pan(t, p) for t, p in zip(source, pans)).astype(np.float32)


def test_recovers_the_pans_of_a_gain_and_pan_mix():
    tracks = _sources(5)
    pans = [0.5, 0.1, 0.9, 0.3, 0.65]
    gains = np.array([1.0, 0.5, 0.25, 2.0, 0.8], dtype=np.float32)[:, None]
    estimate = estimate_pans(tracks, _mix(tracks * gains, pans), SR)
    assert estimate.pans == pytest.approx(pans, abs=0.01)
    assert estimate.shares.sum() == pytest.approx(1.0, abs=1e-5)
    assert int(np.argmax(estimate.shares)) == 3  # the loudest track in the mix


def test_bleed_eq_and_a_short_reverb_do_not_move_the_pans():
    """Microphones hearing each other (correlated tracks), a different EQ per track and a
    room after it: the pan is still the ratio of the track's R and L energy."""
    rng = np.random.default_rng(1)
    sources = _sources(4, seed=2)
    bleed = np.eye(4) + 0.3 * rng.random((4, 4))  # every mic hears the others 10 dB down
    tracks = (bleed @ sources).astype(np.float32)
    processed = []
    for i, track in enumerate(tracks):
        b, a = signal.iirpeak(300.0 * (i + 1), 1.0, fs=SR)  # a different boost per track
        room = rng.standard_normal(int(0.03 * SR)) * np.exp(-np.arange(int(0.03 * SR)) / 300.0)
        room[0] = 4.0
        processed.append(signal.fftconvolve(signal.lfilter(b, a, track), room)[: track.size])
    pans = [0.5, 0.05, 0.8, 0.35]
    estimate = estimate_pans(tracks, _mix(tracks, pans, np.asarray(processed)), SR)
    assert estimate.pans == pytest.approx(pans, abs=0.03)


def test_a_track_missing_from_the_mix_gets_no_share_and_the_centre():
    tracks = _sources(3)
    silent = tracks.copy()
    silent[2] = 0.0
    estimate = estimate_pans(silent, _mix(tracks[:2], [0.2, 0.7]), SR)
    assert estimate.shares[2] == 0.0 and estimate.pans[2] == 0.5
    assert estimate.pans[:2] == pytest.approx([0.2, 0.7], abs=0.01)


def test_bad_shapes_and_too_little_audio_are_refused():
    tracks = _sources(2, seconds=1.0)
    with pytest.raises(ValueError, match="stereo mix"):
        estimate_pans(tracks, tracks[:1], SR)
    with pytest.raises(ValueError, match="samples"):
        estimate_pans(tracks, np.zeros((2, 100), np.float32), SR)
    with pytest.raises(ValueError, match="too few"):
        estimate_pans(tracks[:, :1000], np.zeros((2, 1000), np.float32), SR)


def test_the_fit_gives_back_the_side_signal_of_chosen_tracks():
    """Taking tracks 0 and 2's side out of the mix centres them and leaves track 1 alone."""
    tracks = _sources(3)
    pans = [0.15, 0.8, 0.7]
    mix = _mix(tracks, pans)
    fit = fit_mix(tracks, mix, SR)
    assert fit.pans().pans == pytest.approx(pans, abs=0.01)
    side = fit.side(tracks, [0, 2])
    expected = _mix(tracks[[0, 2]], [0.15, 0.7])
    expected = (expected[0] - expected[1]) / 2
    inner = slice(4096, -4096)  # the band edges of the fit aside, sample for sample
    error = np.sqrt(np.mean((side - expected)[inner] ** 2) / np.mean(expected[inner] ** 2))
    assert error < 0.05
    centred = fit_mix(tracks, mix + np.stack([-side, side]), SR).pans().pans
    assert centred == pytest.approx([0.5, 0.8, 0.5], abs=0.02)


def test_the_drum_kit_seen_from_the_other_side_keeps_everything_else():
    """Kick, overhead pair and a keys part: the mirror moves the overheads, not the keys."""
    tracks = _sources(4)
    roles = ["kick", "overhead", "overhead", "keys"]
    pans = [0.5, 0.2, 0.75, 0.85]
    mix = _mix(tracks, pans)
    mirrored = mirror_drum_kit(tracks, mix, roles, SR)
    expected = _mix(tracks, [0.5, 0.8, 0.25, 0.85])
    inner = slice(4096, -4096)
    error = np.sqrt(
        np.mean((mirrored - expected)[:, inner] ** 2) / np.mean(expected[:, inner] ** 2)
    )
    assert error < 0.05
    assert estimate_pans(tracks, mirrored, SR).pans == pytest.approx(
        [0.5, 0.8, 0.25, 0.85], abs=0.02
    )
    fit = fit_mix(tracks, mix, SR)
    assert np.array_equal(mirror_drum_kit(tracks, mix, roles, SR, fit), mirrored)
    # a drums-only or drum-less mix has no second view beyond the whole mirror
    assert mirror_drum_kit(tracks, mix, ["kick", "snare", "tom", "overhead"], SR) is None
    assert mirror_drum_kit(tracks, mix, ["bass", "keys", "guitar", "lead"], SR) is None
    # hand percussion is placed on its own, not pictured with the kit
    with_shaker = mirror_drum_kit(tracks, mix, ["kick", "overhead", "overhead", "percussion"], SR)
    assert np.array_equal(with_shaker, mirrored)
    with pytest.raises(ValueError, match="3 roles for 4 tracks"):
        mirror_drum_kit(tracks, mix, roles[:3], SR)
