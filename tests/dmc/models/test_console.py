import numpy as np
import pytest
import torch

from dmc.audio import db_to_gain
from dmc.console import DifferentiableMixingConsole
from dmc.effects.chain import constant_power_pan
from dmc.effects.params import CHANNEL_STRIP, task_parameters
from dmc.nn.effects import Chain, Gain, Pan, channel_strip


def _as_batch(tracks):
    return torch.from_numpy(np.asarray(tracks))[None]


@pytest.mark.parametrize("task", ["drums", "full"])
def test_permuting_tracks_permutes_parameters_and_keeps_the_mix(tiny, task):
    console = tiny.console(task)
    tracks = tiny.tracks(5)
    order = [3, 0, 4, 1, 2]
    with torch.no_grad():
        mix, params = console(_as_batch(tracks))
        mix_p, params_p = console(_as_batch(tracks[order]))
    torch.testing.assert_close(params_p[0], params[0, order], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(mix_p, mix, rtol=1e-4, atol=1e-5 * float(mix.abs().max()))
    assert mix.abs().max() > 1e-3  # a real mix, not silence


@pytest.mark.parametrize("task", ["drums", "full"])
def test_padding_with_a_mask_changes_nothing(tiny, task):
    console = tiny.console(task)
    tracks = tiny.tracks(3)
    padded = np.concatenate(
        [tracks, tiny.tracks(2, seed=9)]
    )  # junk in the padded rows must not leak
    mask = torch.tensor([[True, True, True, False, False]])
    with torch.no_grad():
        mix, params = console(_as_batch(tracks))
        mix_p, params_p = console(_as_batch(padded), mask)
        both, _ = console(
            torch.stack([_as_batch(padded)[0], _as_batch(padded)[0]]),
            torch.cat([mask, torch.ones_like(mask)]),
        )
    atol = 1e-5 * float(mix.abs().max())  # float32 sums in another order, nothing more
    torch.testing.assert_close(mix_p, mix, rtol=1e-4, atol=atol)
    torch.testing.assert_close(params_p[:, :3], params, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(both[:1], mix, rtol=1e-4, atol=atol)


@pytest.mark.parametrize("task", ["drums", "full"])
def test_parameters_stay_inside_their_ranges(tiny, task):
    console = tiny.console(task)
    tiny.randomise(console.postprocessor, seed=3, scale=5.0)  # saturate the sigmoid both ways
    with torch.no_grad():
        _, params = console(_as_batch(tiny.tracks(6, level=0.5)))
    space = task_parameters(task)
    low = torch.tensor([p.minimum for p in space], dtype=params.dtype)
    high = torch.tensor([p.maximum for p in space], dtype=params.dtype)
    tolerance = 1e-4 * (high - low)
    assert torch.all(params >= low - tolerance) and torch.all(params <= high + tolerance)
    at_edge = ((params - low) < 0.01 * (high - low)) | ((high - params) < 0.01 * (high - low))
    assert at_edge.any()  # the sigmoid really saturated, so the bounds were tested


def test_untrained_console_starts_near_neutral(tiny):
    console = tiny.console("full", random_weights=False)
    with torch.no_grad():
        _, params = console(_as_batch(tiny.tracks(4)))
    got = CHANNEL_STRIP.normalize(params[0].double())
    neutral = torch.from_numpy(CHANNEL_STRIP.defaults_normalized()).double()
    assert torch.all((got - neutral).abs() <= 0.06)
    assert params[0, :, CHANNEL_STRIP.index("pan")].sub(0.5).abs().max() < 0.01


@pytest.mark.parametrize("task", ["drums", "full"])
def test_inference_is_deterministic_even_after_training_mode(tiny, task):
    console = tiny.console(task)
    tracks = _as_batch(tiny.tracks(4))
    with torch.no_grad():
        first = console(tracks)
        console.train()
        console.eval()
        second = console(tracks)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])


def _edge_cases(tiny):
    n = int(0.25 * tiny.SR)
    return {
        "silent tracks": np.zeros((3, n), np.float32),
        "one silent among others": np.concatenate([tiny.tracks(2), np.zeros((1, n), np.float32)]),
        "dc": np.full((2, n), 0.5, np.float32),
        "clipping level": np.sign(tiny.tracks(3)).astype(np.float32),
        "one track": tiny.tracks(1),
        "24 tracks": tiny.tracks(24, seconds=0.1),
    }


@pytest.mark.parametrize("task", ["drums", "full"])
def test_no_nan_on_awkward_inputs(tiny, task):
    console = tiny.console(task)
    for name, tracks in _edge_cases(tiny).items():
        with torch.no_grad():
            mix, params = console(_as_batch(tracks))
        assert mix.shape == (1, 2, tracks.shape[1]), name
        assert torch.isfinite(mix).all() and torch.isfinite(params).all(), name


def test_silent_tracks_give_silence_for_gain_and_pan(tiny):
    with torch.no_grad():
        mix, _ = tiny.console("drums")(torch.zeros(1, 3, 4000))
    assert torch.count_nonzero(mix) == 0


def test_strip_effects_match_the_reference_pan_law_and_gain():
    audio = torch.randn(3, 1, 500)
    params = torch.tensor([[-6.0, 0.0], [0.0, 0.5], [12.0, 1.0]], dtype=torch.float32)
    strip = channel_strip("drums")
    out = strip(audio, params)
    expected = constant_power_pan(
        audio[:, 0].numpy() * db_to_gain(params[:, :1].numpy()), params[:, 1].numpy()
    )
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_chains_compose_like_a_list():
    chain = Chain([Gain("gain_db")])
    chain.append(Gain("fader_db"))
    chain.append(Pan())
    assert len(chain) == 3 and isinstance(chain[2], Pan)
    assert chain.parameter_names == ("gain_db", "fader_db", "pan")
    out = chain(torch.ones(1, 1, 10), torch.tensor([[6.0, -6.0, 0.0]]))
    torch.testing.assert_close(out[0, 0], torch.ones(10))  # +6 -6 dB, hard left at unity
    with pytest.raises(ValueError, match="already controlled"):
        chain.append(Gain("gain_db"))
    with pytest.raises(ValueError, match="unknown task"):
        channel_strip("piano")
    with pytest.raises(ValueError, match="needs a transformation network"):
        channel_strip("full")
    assert channel_strip("full", tiny_tcn()).parameter_names == CHANNEL_STRIP.names


def tiny_tcn():
    from dmc.nn.tcn import TCN

    return TCN(num_blocks=1, kernel_size=3, channels=2)


def test_frozen_tcn_stays_frozen_and_finetuned_learns(tiny):
    frozen = tiny.console("full")
    assert not any(p.requires_grad for p in frozen.tcn.parameters())
    assert not any(p.requires_grad for p in frozen.encoder.parameters())
    from dmc.console import DifferentiableMixingConsole

    tuned = DifferentiableMixingConsole(
        "full", encoder=tiny.ENCODER, tcn=tiny.TCN, finetune_tcn=True
    )
    assert all(p.requires_grad for p in tuned.tcn.parameters())
    tuned.train()
    assert (
        not tuned.tcn.training and not tuned.encoder.training
    )  # normalisation statistics stay fixed


def test_bad_shapes_are_named(tiny):
    console = tiny.console("drums")
    with pytest.raises(ValueError, match="batch, tracks, samples"):
        console(torch.zeros(3, 100))
    with pytest.raises(ValueError, match="mask"):
        console(torch.zeros(1, 3, 4000), torch.ones(1, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match="unknown task"):
        tiny.console("piano")


def test_tcn_warmup_bypass_skips_only_the_neural_effects(tiny):
    console = tiny.console("full")
    tracks = torch.from_numpy(tiny.tracks(2))[None]
    params = console.space.denormalize(torch.rand(1, 2, len(console.space)))
    neural = console.strip[1]
    with torch.no_grad():
        with_tcn = console.render(tracks, params)
        neural.bypass = True
        without = console.render(tracks, params)
        neural.bypass = False
        # bypassed: gain -> fader -> pan with the same settings, by hand
        gain = 10 ** ((params[0, :, 0] + params[0, :, -2]) / 20)
        theta = params[0, :, -1] * torch.pi / 2
        expected = torch.stack(
            [
                (torch.cos(theta)[:, None] * gain[:, None] * tracks[0]).sum(0),
                (torch.sin(theta)[:, None] * gain[:, None] * tracks[0]).sum(0),
            ]
        )
    torch.testing.assert_close(without[0], expected, rtol=1e-4, atol=1e-6)
    assert (with_tcn - without).abs().max() > 1e-4


def _related_console(tiny, seed=0):
    from dmc.console import DifferentiableMixingConsole

    torch.manual_seed(seed)
    console = DifferentiableMixingConsole(
        "drums", encoder=tiny.ENCODER, hidden_dim=16, context="mean+related"
    )
    tiny.randomise(console.postprocessor, seed)
    return console.eval()


def test_related_context_keeps_the_console_permutation_equivariant_and_masked(tiny):
    console = _related_console(tiny)
    tracks = torch.from_numpy(tiny.tracks(4, seconds=0.5))[None]
    mix, params = console(tracks)
    order = torch.tensor([2, 0, 3, 1])
    mix2, params2 = console(tracks[:, order])
    torch.testing.assert_close(params2[0], params[0][order], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(mix2, mix, rtol=1e-5, atol=1e-6)
    padded = torch.cat([tracks, torch.randn(1, 2, tracks.shape[-1])], dim=1)
    mask = torch.tensor([[True] * 4 + [False] * 2])
    _, params3 = console(padded, mask)
    torch.testing.assert_close(params3[0, :4], params[0], rtol=1e-5, atol=1e-6)


def test_related_context_tells_alike_tracks_apart_by_what_they_follow():
    """Two identical-sounding 'overheads', each following another drum more closely:
    the mean context cannot tell them apart, the related context can."""
    from dmc.console import envelope_correlation

    rng = np.random.default_rng(0)
    n, frame = 64, 2048
    pulse_a, pulse_b = rng.random(n) < 0.3, rng.random(n) < 0.3
    noise = rng.standard_normal((4, n * frame)) * 0.01

    def follow(pulses, level):
        return np.repeat(np.where(pulses, level, 0.05), frame)

    a, b = follow(pulse_a, 1.0) * noise[0], follow(pulse_b, 1.0) * noise[1]
    left = (0.8 * follow(pulse_a, 1.0) + 0.2 * follow(pulse_b, 1.0)) * noise[2]
    right = (0.2 * follow(pulse_a, 1.0) + 0.8 * follow(pulse_b, 1.0)) * noise[3]
    corr = envelope_correlation(
        torch.tensor(np.stack([a, b, left, right]), dtype=torch.float32)[None]
    )[0]
    assert corr[2, 0] > corr[2, 1] and corr[3, 1] > corr[3, 0]
    assert torch.allclose(corr, corr.T) and torch.allclose(corr.diagonal(), torch.ones(4))


def test_related_context_needs_relations_and_survives_a_checkpoint(tiny, tmp_path):
    from dmc.checkpoint import save_model
    from dmc.pretrained import load_model

    console = _related_console(tiny)
    embeddings = torch.randn(1, 3, console.encoder.output_dim)
    with pytest.raises(ValueError, match="needs the tracks' envelope relations"):
        console.predict(embeddings)
    tracks = torch.from_numpy(tiny.tracks(3, seconds=0.3))[None]
    path = save_model(tmp_path / "c.pt", console)
    loaded = load_model(path)
    assert loaded.context == "mean+related"
    torch.testing.assert_close(loaded(tracks)[1], console(tracks)[1])
    with pytest.raises(ValueError, match="unknown context"):
        type(console)("drums", encoder=tiny.ENCODER, context="attention")


def _side_hint_console(tiny, seed: int = 0) -> DifferentiableMixingConsole:
    torch.manual_seed(seed)
    console = DifferentiableMixingConsole(
        "drums", encoder=tiny.ENCODER, hidden_dim=16, side_hints=True
    )
    tiny.randomise(console.postprocessor, seed)
    return console.eval()


def test_side_hints_let_a_pair_of_identical_tracks_take_different_pans(tiny, tmp_path):
    from dmc.checkpoint import save_model
    from dmc.mixers.console import ConsoleMixer
    from dmc.pretrained import load_model

    console = _side_hint_console(tiny)
    track = tiny.tracks(1, seconds=0.5)
    pair = torch.from_numpy(np.concatenate([track, track]))[None]
    with torch.no_grad():
        _, without = console(pair)  # no hints: the two are the same to the console
        _, hinted = console(pair, sides=torch.tensor([[-1.0, 1.0]]))
    torch.testing.assert_close(without[0, 0], without[0, 1])
    assert not torch.allclose(hinted[0, 0], hinted[0, 1])
    # the mixer reads the hints off the names, and only a console built with them uses them
    mixer = ConsoleMixer(load_model(save_model(tmp_path / "c.pt", console)), device="cpu")
    by_name = mixer.mix(pair[0].numpy(), 44100, ["overhead_L.wav", "overhead_R.wav"]).params
    assert by_name[0]["pan"] != by_name[1]["pan"]
    assert by_name[0]["pan"] == pytest.approx(float(hinted[0, 0, 1]), abs=1e-5)
    plain = ConsoleMixer(tiny.console("drums"), device="cpu")
    unnamed = plain.mix(pair[0].numpy(), 44100, ["overhead_L.wav", "overhead_R.wav"]).params
    assert unnamed[0]["pan"] == pytest.approx(unnamed[1]["pan"])
    with pytest.raises(ValueError, match="sides must be"):
        console(pair, sides=torch.zeros(1, 3))
    with pytest.raises(ValueError, match="3 names for 2 tracks"):
        mixer.mix(pair[0].numpy(), 44100, ["a", "b", "c"])
