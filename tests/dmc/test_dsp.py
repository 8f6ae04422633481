"""The exact strip (dmc.dsp) against pedalboard, against finite differences, and at neutral."""

import numpy as np
import pytest
import torch

from dmc import dsp
from dmc.audio import difference_db
from dmc.dsp import compressor, eq, reverb, spectral
from dmc.effects.chain import mix as chain_mix
from dmc.effects.chain import process_channel
from dmc.effects.params import CHANNEL_STRIP, TCN_PARAMETERS
from dmc.nn.effects import DSPEffects, channel_strip

RATES = (22050, 44100, 48000, 96000)


def program(sample_rate: int, seconds: float, seed: int) -> np.ndarray:
    """Noise bursts with a decaying envelope: transients for the compressor, a spread spectrum."""
    rng = np.random.default_rng(seed)
    samples = int(seconds * sample_rate)
    envelope = np.exp(-np.mod(np.arange(samples), sample_rate // 4) / (0.05 * sample_rate))
    return (0.5 * rng.standard_normal(samples) * envelope).astype(np.float32)


def settings(seed: int, count: int) -> list[dict[str, float]]:
    """Random strip settings, uniform over each range; the compressor always engaged."""
    rng = np.random.default_rng(seed)
    values = CHANNEL_STRIP.denormalize(rng.random((count, len(CHANNEL_STRIP))))
    out = [CHANNEL_STRIP.to_dict(v) for v in values]
    for s in out:
        s["comp_threshold_db"] = float(rng.uniform(-30, -10))
        s["comp_ratio"] = float(rng.uniform(2, 10))
    return out


def section(s: dict[str, float], names) -> torch.Tensor:
    return torch.tensor([[s[n] for n in names]], dtype=torch.float32)


@pytest.mark.parametrize("sample_rate", RATES)
def test_each_stage_matches_pedalboard(sample_rate):
    audio = program(sample_rate, 1.0, seed=sample_rate)
    x = torch.from_numpy(audio)[None]
    for s in settings(seed=sample_rate, count=3):
        reference = process_channel(audio, sample_rate, s, stages=("eq",))
        ours = eq.equalize(x, section(s, eq.PARAMETER_NAMES), sample_rate)[0].numpy()
        assert difference_db(ours, reference) < -60, s

        reference = process_channel(audio, sample_rate, s, stages=("compressor",))
        makeup = 10 ** (s["comp_makeup_db"] / 20)
        ours = compressor.compress(x, section(s, compressor.PARAMETER_NAMES), sample_rate)
        assert difference_db(ours[0].numpy() * makeup, reference) < -60, s
        assert difference_db(audio, reference) > -30  # the compressor did act

        reference = process_channel(audio, sample_rate, s, stages=("reverb",))
        ours = reverb.reverberate(x, section(s, reverb.PARAMETER_NAMES), sample_rate)[0].numpy()
        wet = reference - s["reverb_dry"] * audio  # judge the tail on its own, not the dry path
        assert difference_db(ours - s["reverb_dry"] * audio, wet) < -60, s


@pytest.mark.parametrize("sample_rate", (22050, 48000))
def test_whole_strip_matches_the_chain_batched(sample_rate):
    """All tracks in one call, every stage on: the mix equals dmc.effects.chain.mix."""
    tracks = np.stack([program(sample_rate, 1.5, seed=k) for k in range(4)])
    strip = settings(seed=7, count=4)
    reference, reference_channels = chain_mix(tracks, sample_rate, strip)
    ours, channels = dsp.mix(tracks, sample_rate, strip)
    assert ours.shape == reference.shape == (2, tracks.shape[1])
    assert difference_db(ours, reference) < -50
    for mine, theirs in zip(channels, reference_channels):
        assert difference_db(mine, theirs) < -50


def test_high_shelf_above_nyquist_is_clamped_like_pedalboard():
    """At 22.05 kHz a 16 kHz high shelf runs at fs/2 - 100 Hz, as pedalboard runs it."""
    audio = program(22050, 1.0, seed=3)
    s = CHANNEL_STRIP.to_dict(CHANNEL_STRIP.defaults())
    s |= {"eq_high_shelf_freq_hz": 16000.0, "eq_high_shelf_gain_db": 9.0}
    reference = process_channel(audio, 22050, s, stages=("eq",))
    ours = eq.equalize(torch.from_numpy(audio)[None], section(s, eq.PARAMETER_NAMES), 22050)
    assert difference_db(ours[0].numpy(), reference) < -60
    assert difference_db(audio, reference) > -20  # the shelf did act


def test_neutral_settings_pass_audio_through():
    audio = torch.from_numpy(program(44100, 1.0, seed=5))[None].repeat(3, 1)
    neutral = torch.tensor(TCN_PARAMETERS.defaults(), dtype=torch.float32).repeat(3, 1)
    out = dsp.process(audio, neutral, 44100)
    assert difference_db(out.numpy(), audio.numpy()) < -120


def test_rows_are_independent():
    """A batched call equals row-by-row calls: no row leaks into another."""
    audio = torch.from_numpy(np.stack([program(44100, 0.5, seed=k) for k in range(3)]))
    params = torch.tensor(
        np.stack([[s[n] for n in TCN_PARAMETERS.names] for s in settings(seed=2, count=3)]),
        dtype=torch.float32,
    )
    together = dsp.process(audio, params, 44100)
    for row in range(3):
        alone = dsp.process(audio[row : row + 1], params[row : row + 1], 44100)
        assert difference_db(together[row].numpy(), alone[0].numpy()) < -110


def test_gradients_match_finite_differences_float64():
    torch.manual_seed(0)
    rate = 8000
    x = (torch.randn(2, 400, dtype=torch.float64) * torch.linspace(1.0, 0.1, 400)).requires_grad_()
    values = TCN_PARAMETERS.denormalize(np.random.default_rng(3).uniform(0.1, 0.9, (2, 22)))
    values[:, TCN_PARAMETERS.index("comp_threshold_db")] = -20.0  # inside the signal's range
    params = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    # fast mode compares a random projection of the Jacobian (one backward pass) with
    # finite differences, instead of all 800 rows: seconds, not minutes; three seeds
    for seed in range(3):
        torch.manual_seed(seed)
        assert torch.autograd.gradcheck(
            lambda a, p: dsp.process(a, p, rate),
            (x, params),
            eps=1e-6,
            atol=1e-5,
            rtol=1e-4,
            fast_mode=True,
        )


def test_ballistics_gradient_and_forward_against_a_plain_loop():
    torch.manual_seed(1)
    level = torch.rand(3, 300, dtype=torch.float64, requires_grad=True)
    attack = torch.tensor([0.9, 0.5, 0.99], dtype=torch.float64, requires_grad=True)
    release = torch.tensor([0.99, 0.95, 0.999], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        compressor.ballistics, (level, attack, release), eps=1e-7, fast_mode=True
    )
    out = compressor.ballistics(level, attack, release).detach().numpy()
    for row in range(3):
        y = 0.0
        for n, x in enumerate(level[row].detach().numpy()):
            c = attack[row].item() if x > y else release[row].item()
            y = x + c * (y - x)
            assert out[row, n] == pytest.approx(y, rel=1e-12, abs=1e-15)


def test_long_signals_take_the_block_path_to_the_same_output():
    """The whole-song road (impulse response, overlap-add blocks) equals the one-FFT road."""
    rate = 8000
    audio = torch.from_numpy(np.stack([program(rate, 12.0, seed=k) for k in range(2)]))
    params = torch.tensor([[0.6, 0.2, 1.0, 0.7], [0.3, 0.8, 0.5, 1.0]])
    one = reverb.reverberate(audio, params, rate)
    tail = int(reverb.TAIL_SECONDS * rate)
    blocks = reverb.response  # same closed form, evaluated on the short grid
    impulse_path = spectral.filter_rows(
        audio,
        lambda n: blocks(params[:, 0], params[:, 1], n, rate),
        tail,
        one_fft_samples=3 * tail,  # forces block-wise convolution
    )
    expected = (one - params[:, 3:] * audio) / (0.5 * params[:, 2:3])
    assert difference_db(impulse_path.numpy(), expected.numpy()) < -100


def test_dsp_effects_in_a_console_strip_render_the_chain():
    strip = channel_strip("full", effects="dsp", sample_rate=48000)
    assert strip.parameter_names == CHANNEL_STRIP.names
    tracks = np.stack([program(48000, 1.0, seed=k) for k in range(2)])
    s = settings(seed=11, count=2)
    params = torch.tensor(np.stack([CHANNEL_STRIP.from_dict(x) for x in s]), dtype=torch.float32)
    with torch.no_grad():
        channels = strip(torch.from_numpy(tracks)[:, None], params)
    reference, _ = chain_mix(tracks, 48000, s)
    assert difference_db(channels.sum(dim=0).numpy(), reference) < -50
    # the drums task with the exact effects controls the whole strip too
    assert channel_strip("drums", effects="dsp").parameter_names == CHANNEL_STRIP.names


def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match="rows"):
        dsp.process(torch.zeros(2, 100), torch.zeros(2, 5), 44100)
    with pytest.raises(ValueError, match="mono"):
        DSPEffects()(torch.zeros(1, 2, 100), torch.zeros(1, 22))
    with pytest.raises(ValueError, match="effects"):
        channel_strip("full", effects="neural")
    with pytest.raises(ValueError, match="2 tracks but 1"):
        dsp.mix(np.zeros((2, 100), np.float32), 44100, [{}])
