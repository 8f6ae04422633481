import numpy as np
import pytest
import torch

from dmc.audio import db_to_gain
from dmc.effects.chain import constant_power_pan, mix, process_channel
from dmc.effects.params import (
    CHANNEL_STRIP,
    TASK_PARAMETERS,
    TCN_PARAMETERS,
    expand_to_strip,
    task_parameters,
)

SR = 44100


def test_spaces_have_the_paper_layout():
    assert len(TCN_PARAMETERS) == 22
    assert TASK_PARAMETERS["drums"].names == ("gain_db", "pan")
    assert all(
        name.endswith(
            ("_db", "_hz", "_ms", "_q", "_ratio", "pan", "_size", "_damping", "_wet", "_dry")
        )
        for name in CHANNEL_STRIP.names
    )
    with pytest.raises(ValueError, match="piano"):
        task_parameters("piano")


def test_normalise_round_trip_numpy_and_torch():
    rng = np.random.default_rng(0)
    x = CHANNEL_STRIP.sample(rng, 64)
    real = CHANNEL_STRIP.denormalize(x)
    np.testing.assert_allclose(CHANNEL_STRIP.normalize(real), x, atol=1e-5)
    for i, p in enumerate(CHANNEL_STRIP):
        assert np.all((real[:, i] >= p.minimum - 1e-4) & (real[:, i] <= p.maximum + 1e-4))
    t = torch.from_numpy(x)
    torch.testing.assert_close(
        CHANNEL_STRIP.denormalize(t), torch.from_numpy(real), rtol=1e-5, atol=1e-4
    )


def test_log_parameters_map_geometrically():
    freq = CHANNEL_STRIP["eq_low_shelf_freq_hz"]
    assert freq.denormalize(0.5) == pytest.approx(np.sqrt(freq.minimum * freq.maximum))


def test_bypass_sampling_sets_whole_groups_to_defaults():
    x = TCN_PARAMETERS.sample(np.random.default_rng(1), 400, {"reverb": 1.0, "eq": 0.0})
    real = TCN_PARAMETERS.denormalize(x)
    assert np.allclose(TCN_PARAMETERS.select(real, ["reverb_wet"]), 0.0, atol=1e-6)
    assert np.std(TCN_PARAMETERS.select(real, ["eq_band1_gain_db"])) > 3
    with pytest.raises(ValueError, match="chorus"):
        TCN_PARAMETERS.sample(np.random.default_rng(1), 2, {"chorus": 0.5})


def test_from_dict_validates_names_and_ranges():
    strip = CHANNEL_STRIP.from_dict({"gain_db": -6.0, "pan": 0.25})
    assert strip[CHANNEL_STRIP.index("gain_db")] == -6.0
    assert strip[CHANNEL_STRIP.index("comp_ratio")] == 1.0  # default fills the rest
    with pytest.raises(ValueError, match="gain_db=40"):
        CHANNEL_STRIP.from_dict({"gain_db": 40})
    with pytest.raises(ValueError, match="wah"):
        CHANNEL_STRIP.from_dict({"wah": 1})
    with pytest.raises(ValueError, match="finite"):
        CHANNEL_STRIP.from_dict({"pan": float("nan")})


def test_expand_to_strip_fills_defaults():
    drums = TASK_PARAMETERS["drums"]
    out = expand_to_strip(np.array([[3.0, 0.1]]), drums)
    assert out.shape == (1, len(CHANNEL_STRIP))
    assert out[0, CHANNEL_STRIP.index("gain_db")] == 3.0
    assert out[0, CHANNEL_STRIP.index("eq_band2_gain_db")] == 0.0


@pytest.mark.parametrize("pan", [0.0, 0.25, 0.5, 1.0])
def test_constant_power_pan(pan):
    x = np.ones(8, dtype=np.float32)
    lr = constant_power_pan(x, pan)
    assert lr.shape == (2, 8)
    np.testing.assert_allclose(lr[0] ** 2 + lr[1] ** 2, 1.0, atol=1e-6)
    np.testing.assert_allclose(lr[0], np.cos(pan * np.pi / 2), atol=1e-6)


def test_neutral_strip_is_transparent(make_drums):
    x = make_drums(2.0)
    np.testing.assert_allclose(process_channel(x, SR, {}), x, atol=1e-4)


def test_gain_and_fader_are_exact(make_drums):
    x = make_drums(1.0)
    y = process_channel(x, SR, {"gain_db": -6.0, "fader_db": 2.0}, stages=("gain", "fader"))
    np.testing.assert_allclose(y, x * db_to_gain(-4.0), rtol=1e-4, atol=1e-6)


def test_eq_boost_raises_energy_in_its_band():
    rng = np.random.default_rng(0)
    noise = (0.1 * rng.standard_normal(SR)).astype(np.float32)
    y = process_channel(
        noise, SR, {"eq_band2_gain_db": 12.0, "eq_band2_freq_hz": 1000.0, "eq_band2_q": 2.0}
    )
    f = np.fft.rfftfreq(SR, 1 / SR)
    band = (f > 900) & (f < 1100)
    ratio = np.sum(np.abs(np.fft.rfft(y))[band] ** 2) / np.sum(
        np.abs(np.fft.rfft(noise))[band] ** 2
    )
    assert 10 * np.log10(ratio) == pytest.approx(12.0, abs=1.5)


def test_compressor_reduces_crest_factor(make_drums):
    x = make_drums(3.0) * 3
    y = process_channel(x, SR, {"comp_threshold_db": -30, "comp_ratio": 8, "comp_attack_ms": 1})
    crest = lambda s: np.max(np.abs(s)) / np.sqrt(np.mean(s**2))  # noqa: E731
    assert crest(y) < 0.8 * crest(x)


def test_reverb_adds_a_tail(make_drums):
    x = np.zeros(SR, dtype=np.float32)
    x[100] = 1.0
    y = process_channel(x, SR, {"reverb_wet": 0.5, "reverb_room_size": 0.6, "reverb_dry": 1.0})
    assert np.sum(y[SR // 4 :] ** 2) > 1e-4 and y.shape == x.shape


def test_mix_sums_panned_channels(make_drums):
    tracks = np.stack([make_drums(1.0, seed=s) for s in range(3)])
    params = [{"pan": 0.0}, {"pan": 1.0}, {"pan": 0.5, "gain_db": -6}]
    stereo, panned = mix(tracks, SR, params)
    assert stereo.shape == (2, SR) and panned.shape == (3, 2, SR)
    np.testing.assert_allclose(stereo, panned.sum(axis=0), atol=1e-6)
    assert np.allclose(panned[0, 1], 0, atol=1e-6) and np.allclose(panned[1, 0], 0, atol=1e-6)
    with pytest.raises(ValueError, match="3 tracks but 2"):
        mix(tracks, SR, params[:2])
