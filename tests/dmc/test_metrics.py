"""Objective metrics against values computed by hand on simple signals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dmc.effects.chain import constant_power_pan
from dmc.metrics import (
    METRIC_NAMES,
    all_metrics,
    dynamics_errors,
    loudness_error,
    panning_errors,
    panning_spectrum,
    peak_error,
    rl_levels_db,
    spectral_errors,
    stereo_image_metrics,
    sum_difference_stft_distance,
)

SAMPLE_RATE = 44100


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Short STFTs gain nothing from a second thread on a shared 2-core machine; restore afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def noise(seconds: float = 3.0, sample_rate: int = SAMPLE_RATE, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * sample_rate))).astype(
        np.float32
    )


def sine(
    freq_hz: float, seconds: float = 3.0, sample_rate: int = SAMPLE_RATE, amplitude: float = 0.1
) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def test_identical_signals_score_zero_everywhere(music_stereo):
    metrics = all_metrics(music_stereo, music_stereo, SAMPLE_RATE)
    assert list(metrics) == list(METRIC_NAMES)
    # the R-L level describes the estimate (this one leans left: the drums are louder than the chord)
    assert metrics.pop("rl_level_db") == pytest.approx(
        rl_levels_db(music_stereo, SAMPLE_RATE)["broadband"]
    )
    for name, value in metrics.items():
        assert value == pytest.approx(0.0, abs=1e-9), name


@pytest.mark.parametrize("gain_db", [-6.0, 3.0, -12.0])
def test_a_gain_change_is_a_loudness_and_level_error_of_that_many_db(music_stereo, gain_db):
    louder = music_stereo * 10 ** (gain_db / 20)
    metrics = all_metrics(louder, music_stereo, SAMPLE_RATE)
    assert metrics["loudness_error_lu"] == pytest.approx(abs(gain_db), abs=0.01)
    assert metrics["peak_error_db"] == pytest.approx(abs(gain_db), abs=0.01)
    assert metrics["rms_error_db"] == pytest.approx(abs(gain_db), abs=0.01)
    # level-independent features do not move, and MR-STFT matches loudness first
    for name in (
        "sd_mrstft",
        "centroid_error_hz",
        "panning_error",
        "crest_factor_error_db",
        "dynamic_spread_error_db",
    ):
        assert metrics[name] == pytest.approx(0.0, abs=1e-4), name


@pytest.mark.parametrize("sample_rate", [22050, 44100, 48000])
@pytest.mark.parametrize("pan", [0.0, 0.2, 0.75, 1.0])
def test_a_panned_source_has_the_panning_error_of_the_constant_power_law(sample_rate, pan):
    source = noise(sample_rate=sample_rate)
    centred = constant_power_pan(source, 0.5)
    panned = constant_power_pan(source, pan)
    expected = abs(1 - np.sin(np.pi * pan))  # |index(pan) - index(0.5)|, index(0.5) = 0
    errors = panning_errors(panned, centred, sample_rate)
    for band in ("panning_error", "panning_error_low", "panning_error_mid", "panning_error_high"):
        assert errors[band] == pytest.approx(expected, abs=1e-4), band


def test_the_panning_index_has_the_right_sign_and_a_band_sees_only_its_own_source():
    low, high = sine(100.0), noise(seed=1)
    # low tone hard left, noise centred: the index is -1 below 250 Hz
    mix = constant_power_pan(low, 0.0) + constant_power_pan(high * 0.01, 0.5)
    freqs, index, _ = panning_spectrum(mix, SAMPLE_RATE)
    assert index[np.argmin(np.abs(freqs - 100.0))] == pytest.approx(-1.0, abs=0.01)
    assert np.abs(index[freqs > 3000]).max() < 1e-3
    # same mix with the tone hard right: only the low band differs (by 2)
    other = constant_power_pan(low, 1.0) + constant_power_pan(high * 0.01, 0.5)
    errors = panning_errors(other, mix, SAMPLE_RATE)
    assert errors["panning_error_low"] > 1.9
    assert errors["panning_error_high"] < 1e-3


def test_sum_difference_distance_ignores_a_left_right_swap_but_not_a_collapse_to_mono(music_stereo):
    swapped = music_stereo[::-1].copy()
    assert sum_difference_stft_distance(swapped, music_stereo, SAMPLE_RATE) == pytest.approx(
        0.0, abs=1e-6
    )
    mono = np.repeat(music_stereo.mean(axis=0, keepdims=True), 2, axis=0)
    assert sum_difference_stft_distance(mono, music_stereo, SAMPLE_RATE) > 1.0


def test_spectral_errors_of_two_sines_are_their_frequency_difference():
    errors = spectral_errors(sine(1000.0), sine(2000.0), SAMPLE_RATE)
    bin_hz = SAMPLE_RATE / 2048
    assert errors["centroid_error_hz"] == pytest.approx(1000.0, abs=bin_hz)
    assert errors["rolloff_error_hz"] == pytest.approx(1000.0, abs=2 * bin_hz)
    assert errors["flatness_error"] < 1e-3  # both are pure tones
    # white noise is flat (about 0.56 for a periodogram) and a tone is not
    assert spectral_errors(noise(), sine(1000.0), SAMPLE_RATE)["flatness_error"] > 0.4


def test_crest_factor_error_of_a_sine_against_a_square_wave_is_3_db():
    tone = sine(441.0)
    square = (0.1 * np.sign(tone)).astype(np.float32)
    errors = dynamics_errors(tone, square, SAMPLE_RATE)
    assert errors["crest_factor_error_db"] == pytest.approx(20 * np.log10(np.sqrt(2)), abs=0.02)


def test_dynamic_spread_of_two_levels_is_half_their_difference():
    steady = noise(4.0)
    stepped = steady.copy()
    stepped[: stepped.size // 2] *= 10 ** (-10 / 20)  # first half 10 dB down
    errors = dynamics_errors(stepped, steady, SAMPLE_RATE)
    # mean absolute deviation of a level that is half the time -10 dB, half 0 dB: 5 dB
    assert errors["dynamic_spread_error_db"] == pytest.approx(5.0, abs=0.3)


def test_silence_at_both_ends_does_not_count(music_stereo):
    pad = np.zeros((2, SAMPLE_RATE), dtype=np.float32)
    quieter = music_stereo * 0.5
    padded = dynamics_errors(
        np.concatenate([pad, quieter, pad], 1),
        np.concatenate([pad, music_stereo, pad], 1),
        SAMPLE_RATE,
    )
    assert padded == pytest.approx(dynamics_errors(quieter, music_stereo, SAMPLE_RATE), abs=1e-6)


def test_mono_input_is_treated_as_centred():
    source = noise()
    assert (
        panning_errors(source, constant_power_pan(source, 0.5), SAMPLE_RATE)["panning_error"] < 1e-6
    )


@pytest.mark.parametrize("pan", [0.05, 0.2, 0.5, 0.75, 0.95])
def test_the_rl_level_of_a_constant_power_pan_is_20_log10_tan(pan):
    levels = rl_levels_db(constant_power_pan(noise(), pan), SAMPLE_RATE)
    expected = 20 * np.log10(
        np.tan(np.pi * pan / 2)
    )  # pan 0 is hard left: a left source is negative
    assert set(levels) == {"broadband", "low", "mid", "high"}
    for band, level in levels.items():
        assert level == pytest.approx(expected, abs=0.01), band


def test_a_mono_or_hard_panned_signal_has_a_finite_rl_level():
    assert rl_levels_db(noise(), SAMPLE_RATE)["broadband"] == pytest.approx(0.0, abs=1e-9)
    hard_right = rl_levels_db(constant_power_pan(noise(), 1.0), SAMPLE_RATE)
    assert all(level == pytest.approx(60.0, abs=0.01) for level in hard_right.values())


def drum_mix(pans: dict[str, float], gains: dict[str, float] | None = None) -> np.ndarray:
    """Seeded stand-ins for a kit: a low kick, a snare band, a bright hi-hat and a tom, panned."""
    from scipy import signal

    def band(seed, low_hz, high_hz):
        sos = signal.butter(4, [low_hz, high_hz], "bandpass", fs=SAMPLE_RATE, output="sos")
        return signal.sosfilt(sos, noise(seed=seed)).astype(np.float32)

    sources = {
        "kick": band(1, 40, 120),
        "snare": band(2, 300, 2000),
        "hihat": band(3, 6000, 12000),
        "tom": band(4, 120, 250),
    }
    gains = gains or {}
    return sum(
        constant_power_pan(
            0.05 * audio / np.sqrt(np.mean(audio**2)) * gains.get(name, 1.0), pans[name]
        )
        for name, audio in sources.items()
    )


KIT = {"kick": 0.5, "snare": 0.45, "hihat": 0.2, "tom": 0.8}


def test_a_mix_mirrored_as_a_whole_has_zero_mirror_invariant_errors():
    mix = drum_mix(KIT)
    mirrored = mix[::-1].copy()
    metrics = stereo_image_metrics(mirrored, mix, SAMPLE_RATE)
    assert metrics["rl_level_db"] == pytest.approx(-rl_levels_db(mix, SAMPLE_RATE)["broadband"])
    for name, value in metrics.items():
        if name != "rl_level_db":
            assert value == pytest.approx(0.0, abs=1e-9), name
    # the orientation-sensitive panning error does see the mirror (hi-hat and tom swapped sides)
    assert panning_errors(mirrored, mix, SAMPLE_RATE)["panning_error_high"] > 0.5


def test_everything_on_one_side_has_a_large_balance_error_against_a_balanced_target():
    target = drum_mix(KIT)
    one_side = drum_mix(
        {"kick": 0.5, "snare": 0.55, "hihat": 0.9, "tom": 0.75}
    )  # what the shipped console does
    other_balanced = drum_mix({"kick": 0.5, "snare": 0.5, "hihat": 0.25, "tom": 0.7})
    lopsided = stereo_image_metrics(one_side, target, SAMPLE_RATE)
    balanced = stereo_image_metrics(other_balanced, target, SAMPLE_RATE)
    assert lopsided["rl_level_db"] > 3.0
    assert lopsided["balance_error_db"] > 3.0 and lopsided["balance_error_db_high"] > 4.0
    assert balanced["balance_error_db"] < 1.0 and balanced["balance_error_db_high"] < 3.0
    assert lopsided["panning_error_mi_high"] > 2 * balanced["panning_error_mi_high"]


def test_the_orientation_is_the_one_whose_layout_matches_and_every_error_uses_it():
    target = drum_mix(KIT, {"hihat": 2.0})  # leans left
    estimate = drum_mix(
        {**KIT, "hihat": 0.85, "tom": 0.3}, {"hihat": 2.0}
    )  # leans right: mirrored-ish
    metrics = stereo_image_metrics(estimate, target, SAMPLE_RATE)
    swapped = stereo_image_metrics(estimate[::-1].copy(), target, SAMPLE_RATE)
    assert metrics["rl_level_db"] > 0 > rl_levels_db(target, SAMPLE_RATE)["broadband"]
    assert metrics == pytest.approx({**swapped, "rl_level_db": metrics["rl_level_db"]})
    direct = panning_errors(estimate, target, SAMPLE_RATE)
    assert metrics["panning_error_mi_high"] < direct["panning_error_high"] / 2


def drum_like_bands() -> tuple[np.ndarray, np.ndarray]:
    """A low and a high noise band that do not share frequencies."""
    from scipy import signal

    low = signal.sosfilt(signal.butter(6, 400, "low", fs=SAMPLE_RATE, output="sos"), noise(seed=5))
    high = signal.sosfilt(
        signal.butter(6, 4000, "high", fs=SAMPLE_RATE, output="sos"), noise(seed=6)
    )
    return low.astype(np.float32), high.astype(np.float32)


def test_a_small_opposite_lean_does_not_mirror_a_matching_layout():
    """Same layout as the target, leaning 0.1 dB the other way: compared as it is."""
    target = drum_mix(KIT, {"hihat": 1.3})  # leans left
    estimate = drum_mix(KIT, {"tom": 1.1})  # the same pans, a slightly louder tom: leans right
    lean = rl_levels_db(estimate, SAMPLE_RATE)["broadband"]
    target_lean = rl_levels_db(target, SAMPLE_RATE)["broadband"]
    assert target_lean < 0 < lean and abs(-lean - target_lean) < abs(lean - target_lean)
    metrics = stereo_image_metrics(estimate, target, SAMPLE_RATE)
    direct = panning_errors(estimate, target, SAMPLE_RATE)
    assert metrics["panning_error_mi_high"] == pytest.approx(direct["panning_error_high"])
    assert metrics["balance_error_db"] == pytest.approx(abs(lean - target_lean))


def test_a_centred_estimate_takes_the_orientation_of_the_smaller_balance_error():
    target = drum_mix(KIT, {"hihat": 2.0})
    mono = np.repeat(target.mean(axis=0, keepdims=True), 2, axis=0)
    metrics = stereo_image_metrics(mono, target, SAMPLE_RATE)
    target_lean = rl_levels_db(target, SAMPLE_RATE)["broadband"]
    assert metrics["balance_error_db"] == pytest.approx(abs(target_lean), abs=1e-3)


def test_when_the_lean_cannot_choose_the_panning_does():
    a, b = drum_like_bands()
    b *= np.sqrt(np.sum(a.astype(np.float64) ** 2) / np.sum(b.astype(np.float64) ** 2))
    estimate = constant_power_pan(a, 0.2) + constant_power_pan(
        b, 0.8
    )  # equal energy on both sides: 0 dB
    target = constant_power_pan(a, 0.8) + constant_power_pan(b * 0.5, 0.2)  # the mirror, b quieter
    assert rl_levels_db(estimate, SAMPLE_RATE)["broadband"] == pytest.approx(0.0, abs=1e-4)
    metrics = stereo_image_metrics(estimate, target, SAMPLE_RATE)
    assert (
        metrics["panning_error_mi"]
        < panning_errors(estimate, target, SAMPLE_RATE)["panning_error"] / 2
    )


def band_mix(kit_pans: dict[str, float], keys_pan: float) -> np.ndarray:
    """The drum stand-ins plus a keys part (a 1-5 kHz band, as loud as the hi-hat), panned."""
    from scipy import signal

    sos = signal.butter(4, [1000, 5000], "bandpass", fs=SAMPLE_RATE, output="sos")
    keys = signal.sosfilt(sos, noise(seed=7)).astype(np.float32)
    return (drum_mix(kit_pans) + constant_power_pan(keys, keys_pan)).astype(np.float32)


def test_a_kit_seen_from_the_other_side_is_forgiven_only_given_that_view():
    """The target's keys sit right of its audience-view kit; the estimate keeps the keys
    right and pictures the kit from the drummer's seat. No whole-mix mirror matches both,
    the other view does."""
    target = band_mix(KIT, keys_pan=0.85)
    drummers_view = {name: 1.0 - pan for name, pan in KIT.items()}
    estimate = band_mix(drummers_view, keys_pan=0.85)
    plain = stereo_image_metrics(estimate, target, SAMPLE_RATE)
    assert plain["panning_error_mi_high"] > 0.2
    for name in ("balance_error_db", "panning_error"):
        for band in ("", "_low", "_mid", "_high"):  # no other view: any view is the whole mirror
            assert (
                plain[f"{name}_any_view{band}"]
                == plain[f"{name}{'_mi' if name == 'panning_error' else ''}{band}"]
            )
    other_view = band_mix(drummers_view, keys_pan=0.85)
    viewed = stereo_image_metrics(estimate, target, SAMPLE_RATE, other_views=[other_view])
    whole_mirror = {k: v for k, v in plain.items() if "any_view" not in k}
    assert {k: v for k, v in viewed.items() if "any_view" not in k} == whole_mirror
    for name, value in viewed.items():
        if "any_view" in name:
            assert value == pytest.approx(0.0, abs=1e-9), name
    # keys in the middle are wrong in every view (keys on the left would be the whole mirror)
    wrong_keys = stereo_image_metrics(
        band_mix(drummers_view, keys_pan=0.5), target, SAMPLE_RATE, [other_view]
    )
    assert wrong_keys["panning_error_any_view_high"] > 0.1
    assert wrong_keys["balance_error_db_any_view_high"] > 2.0
    everything = all_metrics(estimate, target, SAMPLE_RATE, [other_view])
    assert everything["panning_error_any_view_high"] == pytest.approx(0.0, abs=1e-9)


def test_other_views_are_trimmed_like_the_target_and_checked():
    target = band_mix(KIT, keys_pan=0.85)
    silence = np.zeros((2, SAMPLE_RATE // 2), np.float32)
    padded_target = np.concatenate([silence, target], axis=1)
    view = band_mix({name: 1.0 - pan for name, pan in KIT.items()}, keys_pan=0.85)
    padded_view = np.concatenate([silence, view], axis=1)
    trimmed = stereo_image_metrics(view, target, SAMPLE_RATE, [view])
    padded = stereo_image_metrics(padded_view, padded_target, SAMPLE_RATE, [padded_view])
    assert padded == pytest.approx(trimmed)
    with pytest.raises(ValueError, match="other view 0 has shape"):
        stereo_image_metrics(view, target, SAMPLE_RATE, [view[:, :-10]])
    with pytest.raises(ValueError, match="list of"):
        stereo_image_metrics(view, target, SAMPLE_RATE, view)
    with pytest.raises(ValueError, match="other view 0 contains NaN"):
        all_metrics(view, target, SAMPLE_RATE, [np.full_like(view, np.nan)])


@pytest.mark.parametrize(
    "estimate, target, sample_rate, message",
    [
        (
            np.zeros((2, 44100)),
            np.zeros((2, 44000)),
            SAMPLE_RATE,
            "44100 samples but target has 44000",
        ),
        (np.zeros((3, 100)), np.zeros((3, 100)), SAMPLE_RATE, r"must be \(2, samples\)"),
        (np.full((2, 100), np.nan), np.zeros((2, 100)), SAMPLE_RATE, "NaN"),
        (np.ones((2, 100)), np.ones((2, 100)), 0, "sample_rate must be a positive integer"),
        (np.ones((2, 100)), np.ones((2, 100)), 44100.5, "sample_rate must be a positive integer"),
        (np.zeros((2, 44100)), np.zeros((2, 44100)), SAMPLE_RATE, "both silent"),
        (np.zeros((2, 0)), np.zeros((2, 0)), SAMPLE_RATE, "empty"),
        ("not audio", np.zeros((2, 10)), SAMPLE_RATE, "numeric array"),
    ],
)
@pytest.mark.parametrize(
    "metric",
    [
        loudness_error,
        peak_error,
        spectral_errors,
        panning_errors,
        dynamics_errors,
        stereo_image_metrics,
        sum_difference_stft_distance,
        all_metrics,
    ],
)
def test_bad_input_raises_a_value_error_that_names_the_problem(
    metric, estimate, target, sample_rate, message
):
    with pytest.raises(ValueError, match=message):
        metric(estimate, target, sample_rate)


def test_a_silent_estimate_cannot_be_loudness_matched():
    with pytest.raises(ValueError, match="estimate is silent"):
        sum_difference_stft_distance(
            np.zeros((2, SAMPLE_RATE)), constant_power_pan(noise(1.0), 0.5), SAMPLE_RATE
        )


def test_signals_shorter_than_the_largest_fft_are_refused():
    short = constant_power_pan(noise(0.05), 0.5)
    with pytest.raises(ValueError, match="needs at least 4096"):
        sum_difference_stft_distance(short, short, SAMPLE_RATE)


def test_mismatched_fft_and_hop_sizes_are_refused(music_stereo):
    with pytest.raises(ValueError, match="equally long"):
        sum_difference_stft_distance(
            music_stereo, music_stereo, SAMPLE_RATE, fft_sizes=(1024, 256), hop_sizes=(512,)
        )
