"""Mono and random baselines, and the target-derived conditions (target, BS.1534-3 anchors)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from dmc.effects.chain import mix
from dmc.effects.params import TASK_PARAMETERS
from dmc.mixers.baselines import MonoMixer, RandomMixer
from dmc.mixers.references import ANCHOR_CUTOFFS_HZ, ReferenceCondition, lowpass


@pytest.fixture
def tracks(make_drums):
    return np.stack([make_drums(2.0, seed=i) for i in range(5)])


def test_mono_is_the_plain_sum_centred_with_neutral_settings(tracks):
    result = MonoMixer("drums").mix(tracks, 44100)
    expected = tracks.sum(axis=0) * np.cos(np.pi / 4)
    np.testing.assert_allclose(result.audio[0], expected, atol=1e-6)
    np.testing.assert_allclose(result.audio[1], expected, atol=1e-6)
    assert result.params == [{"gain_db": 0.0, "pan": 0.5}] * 5


def test_random_mix_is_the_reference_chain_with_the_drawn_settings(tracks):
    mixer = RandomMixer("full", seed=3)
    result = mixer.mix(tracks, 44100)
    assert result.params == mixer.draw(5)
    expected, _ = mix(tracks, 44100, result.params)
    np.testing.assert_allclose(result.audio, expected, atol=1e-6)


@pytest.mark.parametrize("task", ["drums", "full"])
def test_random_settings_cover_the_task_parameters_within_their_ranges(task):
    params = RandomMixer(task, seed=0).draw(200)
    space = TASK_PARAMETERS[task]
    assert all(set(p) == set(space.names) for p in params)
    for parameter in space:
        values = np.array([p[parameter.name] for p in params])
        assert values.min() >= parameter.minimum and values.max() <= parameter.maximum
        # uniform in the normalised range: both ends of the range are reached
        normalised = parameter.normalize(values)
        assert normalised.min() < 0.05 and normalised.max() > 0.95, parameter.name


def test_random_mix_is_reproducible_per_seed_and_differs_between_seeds(tracks):
    first = RandomMixer("drums", seed=11).mix(tracks, 44100)
    again = RandomMixer("drums", seed=11).mix(tracks, 44100)
    other = RandomMixer("drums", seed=12).mix(tracks, 44100)
    np.testing.assert_array_equal(first.audio, again.audio)
    assert first.params == again.params
    assert first.params != other.params
    # the same mixer called twice starts from its seed again
    mixer = RandomMixer("drums", seed=11)
    np.testing.assert_array_equal(mixer.mix(tracks, 44100).audio, mixer.mix(tracks, 44100).audio)


def test_drums_random_mix_changes_only_gain_and_pan(tracks):
    result = RandomMixer("drums", seed=5).mix(tracks, 44100)
    gains = 10 ** (np.array([p["gain_db"] for p in result.params]) / 20)
    theta = np.array([p["pan"] for p in result.params]) * np.pi / 2
    left = (tracks * (gains * np.cos(theta))[:, None]).sum(axis=0)
    right = (tracks * (gains * np.sin(theta))[:, None]).sum(axis=0)
    np.testing.assert_allclose(result.audio, np.stack([left, right]), atol=1e-5)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: RandomMixer("drums", seed=-1), "seed must be a non-negative integer"),
        (lambda: RandomMixer("drums", seed=1.5), "seed must be a non-negative integer"),
        (lambda: RandomMixer("jazz", seed=1), "unknown task 'jazz'"),
        (lambda: MonoMixer("jazz"), "unknown task 'jazz'"),
    ],
)
def test_bad_baseline_settings_raise_a_value_error(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize("mixer", [MonoMixer("drums"), RandomMixer("full", seed=0)])
def test_baselines_refuse_tracks_of_the_wrong_shape(mixer):
    with pytest.raises(ValueError, match=r"\(tracks, samples\)"):
        mixer.mix(np.zeros(100, dtype=np.float32), 44100)
    with pytest.raises(ValueError, match="sample_rate"):
        mixer.mix(np.zeros((2, 100), dtype=np.float32), 0)


# ---------------------------------------------------------------------- anchors


def tone(freq_hz: float, sample_rate: int, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return np.stack([np.sin(2 * np.pi * freq_hz * t)] * 2).astype(np.float32)


def level_db(audio: np.ndarray) -> float:
    middle = audio[:, audio.shape[1] // 4 : -audio.shape[1] // 4]  # away from the filter's edges
    return 10 * np.log10(np.mean(middle**2))


@pytest.mark.parametrize("sample_rate", [16000, 22050, 44100, 48000, 96000])
@pytest.mark.parametrize("name", list(ANCHOR_CUTOFFS_HZ))
def test_anchors_pass_the_band_below_and_remove_the_band_above_the_cutoff(name, sample_rate):
    cutoff = ANCHOR_CUTOFFS_HZ[name]
    anchor = ReferenceCondition(name)
    below = tone(cutoff / 4, sample_rate)
    assert level_db(anchor.render(below, sample_rate).audio) == pytest.approx(
        level_db(below), abs=0.05
    )
    above_hz = cutoff * 2
    if above_hz < sample_rate / 2:
        assert (
            level_db(anchor.render(tone(above_hz, sample_rate), sample_rate).audio)
            < level_db(below) - 60
        )


def test_anchor_is_6_db_down_at_its_cutoff_and_keeps_time_alignment(music_stereo):
    at_cutoff = tone(3500.0, 44100)
    assert level_db(lowpass(at_cutoff, 44100, 3500.0)) - level_db(at_cutoff) == pytest.approx(
        -6.02, abs=0.1
    )
    filtered = lowpass(music_stereo, 44100, 3500.0)
    lags = signal.correlation_lags(filtered.shape[1], music_stereo.shape[1])
    correlation = signal.correlate(filtered[0], music_stereo[0], method="fft")
    assert lags[np.argmax(correlation)] == 0


def test_a_cutoff_above_nyquist_leaves_the_signal_unchanged():
    audio = tone(3000.0, 8000)
    np.testing.assert_array_equal(lowpass(audio, 8000, 7000.0), audio)


def test_target_condition_is_the_target_itself(music_stereo):
    result = ReferenceCondition("target").render(music_stereo, 44100)
    np.testing.assert_array_equal(result.audio, music_stereo)
    assert result.params is None


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ReferenceCondition("anchor_1k"), "unknown reference condition 'anchor_1k'"),
        (lambda: lowpass(np.zeros((2, 10)), 44100, 0.0), "cutoff_hz must be positive"),
        (lambda: lowpass(np.zeros((2, 10)), -1, 3500.0), "sample_rate must be positive"),
    ],
)
def test_bad_anchor_settings_raise_a_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
