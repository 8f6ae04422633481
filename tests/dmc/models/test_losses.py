import numpy as np
import pytest
import torch

from dmc.effects.chain import constant_power_pan
from dmc.losses import (
    ConsoleLoss,
    EmulationLoss,
    ReferencePanLoss,
    StereoBalanceLoss,
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


def test_balance_term_sees_what_the_sum_difference_loss_cannot(music_stereo):
    """A one-sided mix of a balanced target: nearly free for the paper's loss, not for the balance."""
    balanced = _two_sources(music_stereo, 0.15, 0.85)
    one_sided = _two_sources(music_stereo, 0.85, 0.85)
    balance = StereoBalanceLoss()
    assert float(balance(balanced, balanced)) == pytest.approx(0.0, abs=1e-6)
    assert float(balance(balanced.flip(1), balanced)) == pytest.approx(0.0, abs=1e-6)  # mirrored
    assert float(balance(one_sided, balanced)) > 1.0  # more than 6 dB off on average


def test_centring_same_sounding_tracks_beats_putting_both_on_one_side():
    """Two tracks that sound alike (overheads L/R), panned apart in the target: a console
    that must give them one setting does better centring both than sending both one way."""
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(1, 1, 2 * 44100, generator=g), torch.randn(1, 1, 2 * 44100, generator=g)

    def mix(pan_a, pan_b):
        out = 0
        for source, p in ((a, pan_a), (b, pan_b)):
            theta = p * np.pi / 2
            out = out + torch.cat([np.cos(theta) * source, np.sin(theta) * source], dim=1)
        return out

    target, loss = mix(0.0, 1.0), StereoBalanceLoss()
    assert float(loss(mix(0.5, 0.5), target)) < 0.05
    assert float(loss(mix(0.8, 0.8), target)) > 1.0


def test_balance_term_is_in_decibels_of_the_level_difference():
    """One source panned at p: R-L = 20 log10(tan(pi p / 2)) in every band."""
    noise = torch.randn(1, 1, 4 * 44100, generator=torch.Generator().manual_seed(0))

    def pan(p):
        theta = p * np.pi / 2
        return torch.cat([np.cos(theta) * noise, np.sin(theta) * noise], dim=1)

    loss = StereoBalanceLoss(scale_db=1.0)
    expected = abs(20 * np.log10(np.tan(0.7 * np.pi / 2)) - 20 * np.log10(np.tan(0.6 * np.pi / 2)))
    assert float(loss(pan(0.7), pan(0.6))) == pytest.approx(expected, rel=1e-3)


def test_balance_term_gradients_reach_the_pans(music_stereo):
    source = torch.from_numpy(music_stereo[:1, : 2 * 44100])[None]
    pan = torch.tensor(0.8, requires_grad=True)
    theta = pan * np.pi / 2
    mix = torch.cat([torch.cos(theta) * source, torch.sin(theta) * source], dim=1)
    target = torch.cat([source, source], dim=1) * np.sqrt(0.5)  # centred
    StereoBalanceLoss()(mix, target).backward()
    assert pan.grad > 0  # moving towards the centre lowers the loss


def test_console_loss_adds_the_balance_term_with_its_weight(music_stereo):
    x, y = _two_sources(music_stereo, 0.2, 0.7), _two_sources(music_stereo, 0.6, 0.6)
    paper = float(StereoSumDifferenceLoss()(x, y))
    extra = float(StereoBalanceLoss()(x, y))
    assert extra > 0
    assert float(ConsoleLoss(w_balance=2.0)(x, y)) == pytest.approx(paper + 2 * extra, rel=1e-5)
    with pytest.raises(ValueError, match="w_balance"):
        ConsoleLoss(w_balance=-1)
    with pytest.raises(ValueError, match="shorter than"):
        StereoBalanceLoss()(torch.zeros(1, 2, 4000), torch.zeros(1, 2, 4000))


def test_pan_term_is_zero_for_the_reference_and_its_mirror_image():
    reference = torch.tensor([[0.5, 0.1, 0.9, 0.3]])
    shares = torch.tensor([[0.4, 0.2, 0.2, 0.2]])
    loss = ReferencePanLoss()
    assert float(loss(reference, reference, shares)) == 0.0
    assert float(loss(1 - reference, reference, shares)) == pytest.approx(0.0, abs=1e-7)


def test_pan_term_sees_a_one_sided_layout_that_balances_on_the_whole():
    """Keys left and guitar right in the target; both right with the lead pulled left as a
    counter-weight: the whole mix may balance, the per-track term does not."""
    reference = torch.tensor([[0.5, 0.5, 0.25, 0.75]])  # bass, lead, keys, guitar
    shares = torch.tensor([[0.4, 0.3, 0.15, 0.15]])
    one_sided = torch.tensor([[0.5, 0.4, 0.75, 0.75]])
    loss = float(ReferencePanLoss()(one_sided, reference, shares))
    # mirror-invariant: the best orientation still has keys (or guitar) 0.5 off, lead 0.1
    assert loss == pytest.approx((0.5 + 0.1) / 4, abs=1e-6)


def test_pan_term_counts_audible_tracks_alike_and_ignores_absent_ones():
    reference = torch.tensor([[0.5, 0.9, 0.1]])
    wrong_quiet = torch.tensor([[0.5, 0.1, 0.1]])  # the 2 % track on the wrong side
    shares = torch.tensor([[0.96, 0.02, 0.02]])
    assert float(ReferencePanLoss()(wrong_quiet, reference, shares)) == pytest.approx(0.8 / 3)
    absent = torch.tensor([[0.96, 0.0, 0.04]])  # a padded (or silent) track costs nothing
    assert float(ReferencePanLoss()(wrong_quiet, reference, absent)) == 0.0


def test_pan_term_with_a_kit_lets_the_kit_take_the_other_view_alone():
    """Overheads mirrored, keys where the target has them: free only when the kit may turn."""
    reference = torch.tensor([[0.5, 0.2, 0.8, 0.7]])  # kick, overhead L, overhead R, keys
    shares = torch.full((1, 4), 0.25)
    kit = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    drummers_view = torch.tensor([[0.5, 0.8, 0.2, 0.7]])
    loss = ReferencePanLoss()
    assert float(loss(drummers_view, reference, shares, kit)) == pytest.approx(0.0, abs=1e-7)
    # one mirror for the whole item: the overheads (or the keys) stay wrong
    assert float(loss(drummers_view, reference, shares)) == pytest.approx(0.4 / 4, abs=1e-6)
    # the keys cannot hide behind the kit's freedom
    keys_centred = torch.tensor([[0.5, 0.8, 0.2, 0.5]])
    assert float(loss(keys_centred, reference, shares, kit)) == pytest.approx(0.2 / 4, abs=1e-6)
    # without kit tracks the term is the whole-item one
    none = torch.zeros(1, 4)
    assert float(loss(keys_centred, reference, shares, none)) == pytest.approx(
        float(loss(keys_centred, reference, shares))
    )
    with pytest.raises(ValueError, match="kit must be"):
        loss(drummers_view, reference, shares, kit[:, :3])


def test_pan_term_is_per_item_and_sends_gradients_to_the_pans():
    reference = torch.tensor([[0.25, 0.75], [0.25, 0.75]])
    shares = torch.full((2, 2), 0.5)
    pans = torch.tensor([[0.75, 0.25], [0.375, 0.75]], requires_grad=True)  # item 0 mirrored
    loss = ReferencePanLoss()(pans, reference, shares)
    assert loss.item() == pytest.approx(0.125 / 2 / 2)
    loss.backward()
    assert pans.grad[1, 0] > 0 and float(pans.grad[0].abs().sum()) == 0.0
    with pytest.raises(ValueError, match="one shape"):
        ReferencePanLoss()(pans, reference[:, :1], shares)
    with pytest.raises(ValueError, match="full_weight_share"):
        ReferencePanLoss(full_weight_share=0)
