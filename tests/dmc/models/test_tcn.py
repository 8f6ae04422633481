import copy
import logging

import pytest
import torch
import torch.nn.functional as F

from dmc.effects.params import EFFECT_GROUPS, TCN_PARAMETERS, effect_activity
from dmc.nn import compile as dmc_compile
from dmc.nn.conv import dilated_conv1d
from dmc.nn.tcn import PRESETS, TCN, preset


def test_presets_have_the_reference_receptive_fields():
    fields = {name: TCN(**kwargs).receptive_field for name, kwargs in PRESETS.items()}
    # kernel 15, dilation 2**(n mod 10): 1 + 14 * 1023 per ten blocks
    assert fields == {"tcn10": 14323, "tcn20": 28645, "tcn30": 42967}


@pytest.mark.parametrize(
    "kernel_size, dilations", [(3, [1, 2, 4]), (5, [1, 3, 9]), (4, [2, 1]), (3, [1, 16, 33])]
)
def test_receptive_field_matches_an_impulse(tiny, kernel_size, dilations):
    tcn = tiny.randomise(
        TCN(
            num_params=3,
            num_blocks=len(dilations),
            kernel_size=kernel_size,
            channels=4,
            dilations=dilations,
            cond_dims=[8],
        )
    ).eval()
    audio = torch.zeros(1, 1, 301, requires_grad=True)
    out = tcn(audio, torch.rand(1, 3))
    out[0, 0, 150].backward()  # which inputs can move the centre output sample?
    support = torch.nonzero(audio.grad[0, 0]).flatten()
    assert int(support.max() - support.min() + 1) == tcn.receptive_field
    # non-causal: the field reaches into the future as well as the past
    assert support.min() < 150 < support.max()


def test_film_conditions_the_output(tiny):
    tcn = tiny.randomise(TCN(num_params=22, **{**tiny.TCN, "cond_dims": [8]})).eval()
    audio = torch.from_numpy(tiny.tracks(1, 0.1))[None]
    a = tcn(audio, torch.zeros(1, 22))
    b = tcn(audio, torch.ones(1, 22))
    assert (a - b).abs().mean() > 0.05 * a.abs().mean()
    torch.testing.assert_close(tcn(audio, torch.zeros(1, 22)), a)


def test_untrained_network_is_the_identity(tiny):
    tcn = TCN(**tiny.TCN).train()  # input skip + zero output layer: an untouched input
    audio = torch.randn(2, 1, 1000)
    torch.testing.assert_close(tcn(audio, torch.rand(2, 22)), audio)


def test_bad_configurations_and_inputs_name_the_problem():
    with pytest.raises(ValueError, match="unknown TCN preset 'tcn99'"):
        preset("tcn99")
    assert preset("tcn10", channels=16)["channels"] == 16
    with pytest.raises(ValueError, match="dilations"):
        TCN(num_blocks=3, dilations=[1, 2])
    with pytest.raises(ValueError, match="mono audio"):
        TCN(num_blocks=1)(torch.zeros(1, 2, 100), torch.zeros(1, 22))
    with pytest.raises(ValueError, match="params"):
        TCN(num_blocks=1)(torch.zeros(1, 1, 100), torch.zeros(1, 5))


def test_macs_per_sample_counts_the_convolutions():
    tcn = TCN(num_blocks=2, kernel_size=3, channels=4, input_skip=False)
    # block 1: 3*1*4 conv + 1x1 residual 1*4 + FiLM/act 3*4; block 2: 3*4*4 + 3*4; output 4
    assert tcn.macs_per_sample == (12 + 4 + 12) + (48 + 12) + 4


@pytest.mark.parametrize("dilation, kernel_size", [(1, 15), (16, 15), (33, 4), (512, 3), (7, 2)])
@pytest.mark.parametrize("channels", [(1, 3), (3, 5)])
def test_fast_convolution_equals_the_padded_dilated_conv1d(dilation, kernel_size, channels):
    cin, cout = channels
    x = torch.randn(2, cin, 300 + dilation, requires_grad=True)
    weight = torch.randn(cout, cin, kernel_size, requires_grad=True)
    context = (kernel_size - 1) * dilation
    expected = F.conv1d(F.pad(x, (context // 2, context - context // 2)), weight, dilation=dilation)
    grad = torch.randn_like(expected)
    want = torch.autograd.grad(expected, (x, weight), grad)
    got_out = dilated_conv1d(x, weight, dilation)
    got = torch.autograd.grad(got_out, (x, weight), grad)
    torch.testing.assert_close(got_out, expected, rtol=1e-5, atol=1e-5)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-4)


def _twins(kwargs, seed=0):
    """The same randomised TCN twice: the fast implementation and the reference one."""
    torch.manual_seed(seed)
    fast = TCN(**kwargs)
    with torch.no_grad():
        for p in fast.parameters():
            p.add_(0.2 * torch.randn_like(p))
    reference = copy.deepcopy(fast)
    reference.reference = True
    return fast, reference


def _compare_step(fast, reference, audio, params, training):
    fast.train(training)
    reference.train(training)
    results = []
    for model in (fast, reference):
        x = audio.clone().requires_grad_(True)
        p = params.clone().requires_grad_(True)
        out = model(x, p)
        (out * torch.linspace(-1, 1, out.shape[-1])).square().sum().backward()
        results.append((out, x.grad, p.grad, [w.grad for w in model.parameters()]))
    (out_f, x_f, p_f, w_f), (out_r, x_r, p_r, w_r) = results
    torch.testing.assert_close(out_f, out_r, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(x_f, x_r, rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(p_f, p_r, rtol=1e-3, atol=1e-4)
    for a, b in zip(w_f, w_r):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4)
    for a, b in zip(fast.buffers(), reference.buffers()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


FAST_CONFIGS = [
    {"num_blocks": 3, "kernel_size": 3, "channels": 4, "dilations": [1, 16, 33]},
    {"num_blocks": 2, "kernel_size": 15, "channels": 6, "cond_dims": [8], "neutral_gate": True},
    {"num_blocks": 2, "kernel_size": 4, "channels": 3, "input_skip": False},
]


@pytest.mark.parametrize("kwargs", FAST_CONFIGS)
@pytest.mark.parametrize("training", [True, False])
def test_fast_path_equals_the_reference_values_gradients_and_statistics(kwargs, training):
    fast, reference = _twins(kwargs)
    audio = 0.05 * torch.randn(3, 1, 900)
    params = torch.rand(3, 22)
    for _ in range(2):  # twice: the running statistics move in training mode
        _compare_step(fast, reference, audio, params, training)


@pytest.mark.slow
def test_compiled_fast_path_equals_the_reference(monkeypatch, caplog):
    """The same comparison through torch.compile (one configuration; compiling takes seconds)."""
    monkeypatch.setenv("DMC_COMPILE", "1")
    fast, reference = _twins(FAST_CONFIGS[1])
    audio, params = 0.05 * torch.randn(2, 1, 700), torch.rand(2, 22)
    with caplog.at_level(logging.WARNING, logger="dmc.nn.compile"):
        for training in (True, False):
            _compare_step(fast, reference, audio, params, training)
    assert not [r for r in caplog.records if "running eagerly" in r.message]


def test_a_compiler_failure_falls_back_to_eager(monkeypatch, caplog):
    def broken(fn, **kwargs):
        def raise_error(*args, **kw):
            raise RuntimeError("no C++ compiler")

        return raise_error

    monkeypatch.setenv("DMC_COMPILE", "1")
    monkeypatch.setattr(dmc_compile.torch, "compile", broken)
    doubled = dmc_compile.maybe_compile(lambda x: 2 * x)
    with caplog.at_level(logging.WARNING, logger="dmc.nn.compile"):
        assert doubled(torch.ones(2)).tolist() == [2.0, 2.0]
        assert doubled(torch.ones(1)).tolist() == [2.0]
    assert sum("running eagerly" in r.message for r in caplog.records) == 1


def test_training_normalisation_needs_more_than_one_value():
    tcn = TCN(num_blocks=1, kernel_size=3, channels=2).train()
    with pytest.raises(ValueError, match="more than one value per channel"):
        tcn(torch.zeros(1, 1, 1), torch.zeros(1, 22))


def test_effect_activity_is_zero_exactly_at_neutral_and_one_at_a_range_end():
    neutral = torch.tensor(TCN_PARAMETERS.defaults_normalized())
    assert effect_activity(neutral).tolist() == [0.0, 0.0, 0.0]
    # the frequency, Q, threshold or room size of an effect that is off changes nothing
    idle = neutral.clone()
    for name in ("eq_band2_freq_hz", "eq_band1_q", "comp_threshold_db", "reverb_room_size"):
        idle[TCN_PARAMETERS.index(name)] = 0.9
    assert effect_activity(idle).tolist() == [0.0, 0.0, 0.0]
    for name, group in [
        ("eq_high_shelf_gain_db", "eq"),
        ("comp_ratio", "compressor"),
        ("reverb_wet", "reverb"),
        ("reverb_dry", "reverb"),
    ]:
        active = neutral.clone()
        active[TCN_PARAMETERS.index(name)] = 0.0 if name in ("reverb_dry",) else 1.0
        expected = [1.0 if g == group else 0.0 for g in EFFECT_GROUPS]
        assert effect_activity(active).tolist() == pytest.approx(expected)


def test_the_neutral_gate_passes_neutral_settings_through_untouched():
    fast, _ = _twins({"num_blocks": 2, "kernel_size": 5, "channels": 4, "neutral_gate": True})
    audio = 0.05 * torch.randn(2, 1, 500)
    neutral = torch.tensor(TCN_PARAMETERS.defaults_normalized()).expand(2, -1)
    torch.testing.assert_close(fast.eval()(audio, neutral), audio, rtol=0, atol=0)
    active = neutral.clone()
    active[:, TCN_PARAMETERS.index("eq_band1_gain_db")] = 0.9
    assert (fast(audio, active) - audio).abs().mean() > 1e-3 * audio.abs().mean()
    assert fast.gate(active).min() > 0.9  # +9.6 dB is far from neutral


def test_the_neutral_gate_needs_the_effect_parameters():
    with pytest.raises(ValueError, match="neutral_gate needs"):
        TCN(num_params=3, num_blocks=1, neutral_gate=True)
