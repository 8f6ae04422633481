import numpy as np
import pytest
import torch

from dmc.effects.chain import constant_power_pan
from dmc.losses import (
    ConsoleLoss,
    EmulationLoss,
    StereoSumDifferenceLoss,
    SwapInvariantStereoLoss,
    sum_difference_distance,
)


def _stereo(music_stereo, seconds=2.0):
    return torch.from_numpy(music_stereo[:, : int(seconds * 44100)])[None]


def test_identical_signals_have_zero_loss(music_stereo):
    x = _stereo(music_stereo)
    assert float(StereoSumDifferenceLoss()(x, x)) == pytest.approx(0.0, abs=1e-6)


def test_swapping_left_and_right_costs_nothing(music_stereo):
    x = _stereo(music_stereo)
    loss = StereoSumDifferenceLoss()
    assert float(loss(x.flip(1), x)) == pytest.approx(0.0, abs=1e-5)
    # ...whereas a per-channel loss would call that a large error
    assert float(torch.nn.functional.l1_loss(x.flip(1), x)) > 0.01


def test_wrong_panning_costs_more_than_slightly_wrong_panning(music_stereo):
    mono = music_stereo.mean(axis=0)
    target = torch.from_numpy(constant_power_pan(mono, 0.2))[None]
    loss = StereoSumDifferenceLoss()
    near = float(loss(torch.from_numpy(constant_power_pan(mono, 0.25))[None], target))
    centre = float(loss(torch.from_numpy(constant_power_pan(mono, 0.5))[None], target))
    assert 0 < near < centre


def test_defaults_are_the_reference_resolutions():
    resolutions = StereoSumDifferenceLoss().loss.mrstft.stft_losses
    assert [(r.fft_size, r.hop_size, r.win_length) for r in resolutions] == [
        (4096, 2048, 4096),
        (1024, 512, 1024),
        (256, 128, 256),
    ]


def test_bad_inputs_raise_value_errors_naming_them():
    loss = StereoSumDifferenceLoss()
    with pytest.raises(ValueError, match="stereo"):
        loss(torch.zeros(1, 1, 8000), torch.zeros(1, 1, 8000))
    with pytest.raises(ValueError, match="shorter"):
        loss(torch.zeros(1, 2, 1000), torch.zeros(1, 2, 1000))
    with pytest.raises(ValueError, match="hop size 300"):
        StereoSumDifferenceLoss(fft_sizes=[256], hop_sizes=[300])


def test_emulation_loss_adds_a_time_term_and_reports_the_spectral_part(music_stereo):
    target = torch.from_numpy(music_stereo[:1, :44100])[None]
    inverted = -target  # same magnitude spectrum, wrong waveform
    loss = EmulationLoss(w_time=10.0)
    assert float(loss.spectral(inverted, target)) == pytest.approx(0.0, abs=1e-5)
    assert float(loss(inverted, target)) == pytest.approx(
        10.0 * 2 * float(target.abs().mean()), rel=1e-4
    )


def test_numpy_distance_matches_the_module(music_stereo):
    x = music_stereo[:, :44100]
    y = np.roll(x, 100, axis=1)
    expected = float(
        StereoSumDifferenceLoss()(torch.from_numpy(x)[None], torch.from_numpy(y)[None])
    )
    assert sum_difference_distance(x, y) == pytest.approx(expected, rel=1e-6)


def _two_sources(music_stereo, pan_a, pan_b, seconds=1.0):
    n = int(seconds * 44100)
    a, b = music_stereo[0, :n], music_stereo[1, n : 2 * n]
    return torch.from_numpy(constant_power_pan(a, pan_a) + constant_power_pan(b, pan_b))[None]


def test_stereo_term_accepts_a_mirror_image_but_not_everything_on_one_side(music_stereo):
    balanced = _two_sources(music_stereo, 0.1, 0.9)  # one source left, the other right
    one_sided = _two_sources(music_stereo, 0.9, 0.9)
    stereo, sum_difference = SwapInvariantStereoLoss(), StereoSumDifferenceLoss()
    assert float(stereo(balanced.flip(1), balanced)) == pytest.approx(0.0, abs=1e-5)
    # the sum/difference loss barely notices the one-sided mix; the stereo term does
    blind = float(sum_difference(one_sided, balanced))
    seen = float(stereo(one_sided, balanced))
    assert seen > 0.3 and seen > 2 * blind


def test_stereo_term_is_minimised_per_item_not_per_batch(music_stereo):
    x = _two_sources(music_stereo, 0.2, 0.7)
    batch = torch.cat([x, x.flip(1)])  # item 1 mirrored, item 0 not
    assert float(SwapInvariantStereoLoss()(batch, torch.cat([x, x]))) == pytest.approx(
        0.0, abs=1e-5
    )


def test_console_loss_without_the_stereo_term_is_the_papers_objective(music_stereo):
    x, y = _two_sources(music_stereo, 0.2, 0.7), _two_sources(music_stereo, 0.6, 0.6)
    paper = float(StereoSumDifferenceLoss()(x, y))
    assert float(ConsoleLoss()(x, y)) == pytest.approx(paper, rel=1e-6)
    extra = float(SwapInvariantStereoLoss()(x, y))
    assert float(ConsoleLoss(w_stereo=0.5)(x, y)) == pytest.approx(paper + 0.5 * extra, rel=1e-5)
    with pytest.raises(ValueError, match="w_stereo"):
        ConsoleLoss(w_stereo=-1)
    with pytest.raises(ValueError, match="stereo"):
        SwapInvariantStereoLoss()(torch.zeros(1, 1, 8000), torch.zeros(1, 1, 8000))
