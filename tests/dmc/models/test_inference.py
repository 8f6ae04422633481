import itertools

import numpy as np
import pytest
import torch

from dmc.apply import block_starts, overlap_add
from dmc.checkpoint import CheckpointError, save_model
from dmc.mixers.base import MixResult
from dmc.mixers.console import ConsoleMixer, load_console


def test_overlap_add_of_a_local_model_equals_the_whole_signal(tiny):
    console = tiny.console("full")
    tcn = console.tcn
    audio = torch.from_numpy(tiny.tracks(2, seconds=0.2))[:, None]  # (2, 1, S)
    params = torch.rand(2, 22)
    with torch.no_grad():
        whole = tcn(audio, params)
        blocks = overlap_add(
            lambda x: tcn(x, params),
            audio,
            block_samples=1000,
            overlap_samples=100,
            context_samples=tcn.receptive_field // 2 + 1,
        )
    torch.testing.assert_close(blocks, whole, rtol=1e-5, atol=1e-6)


def test_cross_fades_sum_to_one():
    audio = torch.ones(1, 2345)
    out = overlap_add(lambda x: x * 2, audio, block_samples=500, overlap_samples=120)
    torch.testing.assert_close(out, torch.full_like(audio, 2.0))
    starts = block_starts(2345, 500, 120)
    assert (
        starts[0] == 0
        and starts[-1] + 500 >= 2345
        and all(b - a == 380 for a, b in itertools.pairwise(starts))
    )
    with pytest.raises(ValueError, match="overlap"):
        block_starts(100, 50, 50)


def test_mixer_renders_long_songs_blockwise_exactly(tiny):
    console = tiny.console("full")
    tracks = tiny.tracks(3, seconds=1.0)
    mixer = ConsoleMixer(console, "cpu", block_seconds=0.3, overlap_seconds=0.05, track_batch=2)
    params = mixer.predict_parameters(tracks)
    blockwise = mixer.render(tracks, params)
    with torch.no_grad():
        whole = console.render(
            torch.from_numpy(tracks)[None], torch.from_numpy(params).float()[None]
        )[0].numpy()
    np.testing.assert_allclose(blockwise, whole, rtol=1e-4, atol=1e-6)


def test_mix_follows_the_mixer_contract_at_any_sample_rate(tiny):
    mixer = ConsoleMixer(tiny.console("drums"), "cpu")
    tracks = tiny.tracks(4, seconds=0.4)
    result = mixer.mix(tracks, 44100)
    assert isinstance(result, MixResult) and result.audio.shape == (2, tracks.shape[1])
    assert [set(p) for p in result.params] == [{"gain_db", "pan"}] * 4
    assert all(-24 <= p["gain_db"] <= 24 and 0 <= p["pan"] <= 1 for p in result.params)
    at_48k = mixer.mix(tracks[:, :14000], 48000)
    assert at_48k.audio.shape == (2, 14000)
    again = mixer.mix(tracks, 44100)
    assert np.array_equal(again.audio, result.audio)  # deterministic


def test_mix_rejects_bad_input(tiny):
    mixer = ConsoleMixer(tiny.console("drums"), "cpu")
    with pytest.raises(ValueError, match="non-empty"):
        mixer.mix(np.zeros((0, 100), np.float32), 44100)
    with pytest.raises(ValueError, match="NaN"):
        mixer.mix(np.full((2, 5000), np.nan, np.float32), 44100)


def test_load_console_checks_file_and_task(tiny, tmp_path):
    path = save_model(tmp_path / "console_drums.pt", tiny.console("drums"))
    assert load_console("drums", path, "cpu").task == "drums"
    with pytest.raises(CheckpointError, match="not 'full'"):
        load_console("full", path, "cpu")
    with pytest.raises(CheckpointError, match="python -m dmc.train console --task drums"):
        load_console("drums", tmp_path / "missing.pt")
    # a missing file named as a shipped model is made by that model's own command
    with pytest.raises(CheckpointError, match="--task full --effects dsp --export"):
        load_console("full", tmp_path / "console_dsp_full.pt")
    with pytest.raises(ValueError, match="unknown task"):
        load_console("piano")
