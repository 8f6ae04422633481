"""The Demucs mixer's shapes, alignment, errors and determinism on tiny configurations."""

from __future__ import annotations

import pytest
import torch

from dmc.nn.demucs import DemucsMixer


@pytest.mark.parametrize("num_samples", [1, 7, 8, 100, 1001, 4097])
@pytest.mark.parametrize("depth", [1, 3])
def test_output_length_equals_input_length(tiny_kwargs, num_samples, depth):
    model = DemucsMixer(**{**tiny_kwargs, "depth": depth}).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 8, num_samples))
    assert out.shape == (2, 2, num_samples)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("num_samples", [1, 5, 37, 1000, 44100])
def test_valid_length_is_exact_for_the_strides(tiny_kwargs, num_samples):
    model = DemucsMixer(**{**tiny_kwargs, "depth": 3})
    valid = model.valid_length(num_samples)
    assert valid >= num_samples
    assert model.valid_length(valid) == valid
    frames = valid
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


@pytest.mark.parametrize(
    "bad",
    [
        dict(kernel_size=2, stride=4),
        dict(context=2),
        dict(depth=0),
        dict(num_tracks=0),
        dict(growth=0.5),
        dict(lstm_layers=-1),
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


def test_silent_input_gives_finite_output(tiny_model):
    with torch.no_grad():
        out = tiny_model.eval()(torch.zeros(1, 8, 500))
    assert torch.isfinite(out).all()


def test_output_is_aligned_with_the_input(tiny_kwargs):
    # Changing only the last samples of the input may change only the last
    # receptive-field's worth of output: no shift or delay between input and output.
    # (No LSTM and no normalisation, which both see the whole excerpt.)
    model = DemucsMixer(**{**tiny_kwargs, "lstm_layers": 0, "normalize": False}).eval()
    x = torch.randn(1, 8, 1000)
    y = x.clone()
    y[..., -10:] += 1.0
    with torch.no_grad():
        diff = (model(x) - model(y)).abs().amax(dim=(0, 1))
    assert diff[:900].max() == 0
    assert diff[-10:].max() > 0


def test_metadata_and_init_kwargs_rebuild_the_same_architecture(tiny_model):
    rebuilt = DemucsMixer(**tiny_model.init_kwargs)
    assert rebuilt.sample_rate == 8000 and rebuilt.num_tracks == 8
    assert [p.shape for p in rebuilt.parameters()] == [p.shape for p in tiny_model.parameters()]
