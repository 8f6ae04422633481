"""``dmc.mixers.demucs.load_demucs``: the trained baseline behind the Mixer contract."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dmc.checkpoint import CheckpointError, save_model, serialize_model
from dmc.mixers.base import MixResult
from dmc.mixers.demucs import load_demucs
from dmc.nn.demucs import DemucsMixer


@pytest.fixture
def checkpoint(tiny_kwargs, tmp_path):
    torch.manual_seed(0)
    model = DemucsMixer(**tiny_kwargs, segment_seconds=0.25)  # 2000-sample blocks at 8 kHz
    return save_model(tmp_path / "demucs.pt", model)


@pytest.mark.parametrize("num_samples", [1, 999, 2000, 7777])
def test_mix_keeps_the_length_and_gives_no_params(checkpoint, eight_tracks, num_samples):
    mixer = load_demucs(checkpoint, device="cpu")
    tracks = np.resize(eight_tracks(1.0), (8, num_samples))
    result = mixer.mix(tracks, 8000)
    assert isinstance(result, MixResult) and mixer.name == "demucs"
    assert result.audio.shape == (2, num_samples) and result.audio.dtype == np.float32
    assert result.params is None


def test_blockwise_mix_equals_the_whole_signal_mix_for_a_bounded_receptive_field(
    tiny_kwargs, eight_tracks, tmp_path
):
    # Without the BLSTM and the level normalisation an output sample depends on a few
    # dozen input samples; blocks aligned to the frame grid with that much context and
    # complementary cross-fades must then reproduce the whole-signal mix.
    torch.manual_seed(0)
    model = DemucsMixer(**{**tiny_kwargs, "lstm_layers": 0}, normalize=False, segment_seconds=0.25)
    mixer = load_demucs(save_model(tmp_path / "bounded.pt", model), device="cpu")
    tracks = eight_tracks(1.5)
    blockwise = mixer.mix(tracks, 8000).audio
    with torch.no_grad():
        whole = model.eval()(torch.from_numpy(tracks)[None])[0].numpy()
    assert mixer.block_samples < tracks.shape[1] / 4  # really several blocks
    np.testing.assert_allclose(blockwise, whole, rtol=1e-4, atol=1e-6)


def test_mixing_is_deterministic(checkpoint, eight_tracks):
    tracks = eight_tracks(0.6)
    first = load_demucs(checkpoint, device="cpu").mix(tracks, 8000).audio
    second = load_demucs(checkpoint, device="cpu").mix(tracks, 8000).audio
    np.testing.assert_array_equal(first, second)


def test_other_sample_rates_are_resampled_to_the_input_length(checkpoint, eight_tracks):
    tracks = eight_tracks(0.5, sample_rate=11025)
    result = load_demucs(checkpoint, device="cpu").mix(tracks, 11025)
    assert result.audio.shape == (2, tracks.shape[1])
    assert np.sqrt(np.mean(result.audio**2)) > 0


@pytest.mark.parametrize("shape", [(7, 100), (9, 100), (8,), (8, 0)])
def test_a_wrong_track_count_is_refused(checkpoint, shape):
    with pytest.raises(ValueError, match="exactly 8 tracks"):
        load_demucs(checkpoint, device="cpu").mix(np.zeros(shape, np.float32), 8000)


def test_a_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(CheckpointError, match="missing.pt"):
        load_demucs(tmp_path / "missing.pt")


def test_a_checkpoint_of_another_architecture_is_a_checkpoint_error(tiny_kwargs, tmp_path):
    # e.g. a file of the hand-written DemucsMixer that the package's class replaced
    package = serialize_model(DemucsMixer(**tiny_kwargs))
    package["kwargs"]["depth"] = 3
    path = tmp_path / "old.pt"
    torch.save(package, path)
    with pytest.raises(CheckpointError, match="old.pt.*another DemucsMixer architecture.*retrain"):
        load_demucs(path)


def test_a_checkpoint_of_another_model_is_refused(tmp_path):
    from dmc.nn.tcn import TCN

    path = save_model(tmp_path / "tcn.pt", TCN(num_blocks=1, channels=2))
    with pytest.raises(CheckpointError, match="holds model class 'TCN'; expected DemucsMixer"):
        load_demucs(path)
