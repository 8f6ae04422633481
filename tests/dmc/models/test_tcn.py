import pytest
import torch

from dmc.nn.tcn import PRESETS, TCN, TCNBlock, preset


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


@pytest.mark.parametrize("dilation, kernel_size", [(16, 15), (33, 4), (512, 3)])
def test_time_folded_convolution_equals_the_dilated_one(dilation, kernel_size):
    block = TCNBlock(3, 3, kernel_size, dilation, cond_dim=4).eval()
    torch.nn.init.normal_(block.conv.weight)
    x, cond = torch.randn(2, 3, 700 + dilation), torch.randn(2, 4)
    folded = block(x, cond)
    block.FOLD_FROM_DILATION = 10**9  # force the plain dilated Conv1d
    torch.testing.assert_close(folded, block(x, cond), rtol=1e-5, atol=1e-5)
