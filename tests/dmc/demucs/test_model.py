"""The Demucs mixer: the package's class adapted, its shapes, alignment, errors and determinism."""

from __future__ import annotations

import demucs.demucs
import pytest
import torch
from torch import nn

from dmc.nn.demucs import DemucsMixer


def test_it_is_the_demucs_package_class(tiny_model, eight_tracks):
    assert isinstance(tiny_model, demucs.demucs.Demucs)
    assert tiny_model.sources == ["mix"] and tiny_model.audio_channels == 2
    # forward is the package's, on the right-padded tracks, cropped, one source axis dropped
    x = torch.from_numpy(eight_tracks(0.3))[None]
    padded = nn.functional.pad(x, (0, tiny_model.valid_length(x.shape[-1]) - x.shape[-1]))
    with torch.no_grad():
        theirs = demucs.demucs.Demucs.forward(tiny_model.eval(), padded)
        assert theirs.shape == (1, 1, 2, padded.shape[-1])
        assert torch.equal(tiny_model(x), theirs[:, 0, :, : x.shape[-1]])


@pytest.mark.parametrize("options", [{}, {"resample": False, "dconv_mode": 0, "gelu": False}])
def test_only_the_input_layer_differs_from_the_package_model(tiny_kwargs, options):
    # Same constructor options given to the package's own class for one stereo source:
    # every weight must have the same name and shape, except the first convolution's,
    # which takes the eight tracks instead of two audio channels.
    model = DemucsMixer(**tiny_kwargs, **options)
    package_options = {k: v for k, v in tiny_kwargs.items() if k != "sample_rate"}
    package = demucs.demucs.Demucs(["mix"], audio_channels=2, **package_options, **options)
    ours = {k: v.shape for k, v in model.state_dict().items()}
    theirs = {k: v.shape for k, v in package.state_dict().items()}
    assert ours.keys() == theirs.keys()
    differing = {k for k in ours if ours[k] != theirs[k]}
    assert differing == {"encoder.0.0.weight"}
    assert ours["encoder.0.0.weight"][1] == 8 and theirs["encoder.0.0.weight"][1] == 2
    last = model.decoder[-1][-1]
    assert isinstance(last, nn.ConvTranspose1d) and last.out_channels == 2


def test_the_new_input_layer_gets_the_package_weight_scaling(tiny_kwargs):
    # rescale=0.1 moves every conv's initial weight std halfway (geometrically) toward 0.1;
    # PyTorch's default for this layer is about 0.06, so rescaled it ends near 0.08.
    torch.manual_seed(0)
    scaled = DemucsMixer(**tiny_kwargs).encoder[0][0].weight.std().item()
    torch.manual_seed(0)
    plain = DemucsMixer(**tiny_kwargs, rescale=0).encoder[0][0].weight.std().item()
    assert scaled == pytest.approx((plain * 0.1) ** 0.5, rel=1e-4)


@pytest.mark.parametrize("num_samples", [1, 7, 8, 100, 1001, 4097])
@pytest.mark.parametrize("depth", [1, 3])
@pytest.mark.parametrize("resample", [True, False])
def test_output_length_equals_input_length(tiny_kwargs, num_samples, depth, resample):
    model = DemucsMixer(**{**tiny_kwargs, "depth": depth, "resample": resample}).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 8, num_samples))
    assert out.shape == (2, 2, num_samples)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("num_samples", [1, 5, 37, 1000, 44100])
@pytest.mark.parametrize("resample", [True, False])
def test_valid_length_is_exact_for_the_strides(tiny_kwargs, num_samples, resample):
    model = DemucsMixer(**{**tiny_kwargs, "depth": 3, "resample": resample})
    valid = model.valid_length(num_samples)
    assert valid >= num_samples
    # the smallest such length: one frame less would be too short (or below one frame's span)
    assert valid - model.frame_samples < num_samples or valid == model.valid_length(1)
    assert model.valid_length(valid) == valid
    frames = 2 * valid if resample else valid  # the U-Net runs at twice the rate
    for _ in range(model.depth):
        assert (frames - model.kernel_size) % model.stride == 0
        frames = (frames - model.kernel_size) // model.stride + 1


@pytest.mark.parametrize("num_tracks", [1, 7, 9])
def test_wrong_track_count_is_refused(tiny_model, num_tracks):
    with pytest.raises(
        ValueError, match=f"built for 8 tracks.*got shape \\(1, {num_tracks}, 64\\)"
    ):
        tiny_model(torch.zeros(1, num_tracks, 64))


def test_two_dimensional_input_is_refused(tiny_model):
    with pytest.raises(ValueError, match="expects"):
        tiny_model(torch.zeros(8, 64))


def test_an_empty_input_is_refused(tiny_model):
    with pytest.raises(ValueError, match="at least one sample, got 0"):
        tiny_model(torch.zeros(1, 8, 0))


@pytest.mark.parametrize(
    "bad",
    [
        dict(kernel_size=2, stride=4),
        dict(context=-1),
        dict(depth=0),
        dict(num_tracks=0),
        dict(growth=0.5),
        dict(lstm_layers=-1),
        dict(dconv_mode=4),
        dict(dconv_comp=8),
    ],
)
def test_bad_configuration_names_the_value(tiny_kwargs, bad):
    key = next(iter(bad))
    with pytest.raises(ValueError, match=key):
        DemucsMixer(**{**tiny_kwargs, **bad})


def test_eval_mode_is_deterministic(tiny_model, eight_tracks):
    x = torch.from_numpy(eight_tracks(0.3))[None]
    tiny_model.eval()
    with torch.no_grad():
        first, second = tiny_model(x), tiny_model(x)
    assert torch.equal(first, second)


def test_seeded_construction_is_reproducible(tiny_kwargs):
    torch.manual_seed(3)
    first = DemucsMixer(**tiny_kwargs).state_dict()
    torch.manual_seed(3)
    second = DemucsMixer(**tiny_kwargs).state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_batch_items_do_not_leak_into_each_other(tiny_model, eight_tracks):
    x = torch.from_numpy(eight_tracks(0.3))[None]
    tiny_model.eval()
    with torch.no_grad():
        alone = tiny_model(x)
        batched = tiny_model(torch.cat([x, 5 * torch.randn_like(x)]))
    torch.testing.assert_close(batched[:1], alone, rtol=1e-4, atol=1e-6)


def test_normalised_model_scales_the_mix_with_the_input(tiny_model, eight_tracks):
    x = torch.from_numpy(eight_tracks(0.3))[None]
    tiny_model.eval()
    with torch.no_grad():
        torch.testing.assert_close(tiny_model(0.1 * x), 0.1 * tiny_model(x), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("num_samples", [1, 500])
def test_silent_or_single_sample_input_gives_finite_output(tiny_model, num_samples):
    # The package alone takes the standard deviation of a 1-sample signal (NaN);
    # padding to the valid length first keeps the statistics defined.
    with torch.no_grad():
        assert torch.isfinite(tiny_model.eval()(torch.zeros(1, 8, num_samples))).all()
        assert torch.isfinite(tiny_model(torch.ones(1, 8, num_samples))).all()


@pytest.mark.parametrize("resample", [True, False])
def test_output_is_aligned_with_the_input(tiny_kwargs, resample):
    # Changing only the last samples of the input may change only the last
    # receptive-field's worth of output: no shift or delay between input and output.
    # (No LSTM and no normalisation, which both see the whole excerpt.)
    model = DemucsMixer(
        **{**tiny_kwargs, "lstm_layers": 0, "normalize": False, "resample": resample}
    ).eval()
    x = torch.randn(1, 8, 1000)
    y = x.clone()
    y[..., -10:] += 1.0
    with torch.no_grad():
        diff = (model(x) - model(y)).abs().amax(dim=(0, 1))
    assert diff[:800].max() < 1e-6
    assert diff[-10:].max() > 1e-3


def test_metadata_and_init_kwargs_rebuild_the_same_architecture(tiny_model):
    rebuilt = DemucsMixer(**tiny_model.init_kwargs)
    assert rebuilt.sample_rate == 8000 and rebuilt.num_tracks == 8
    assert rebuilt.samplerate == 8000 and rebuilt.segment == rebuilt.segment_seconds == 2.0
    assert [p.shape for p in rebuilt.parameters()] == [p.shape for p in tiny_model.parameters()]
