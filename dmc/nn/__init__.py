"""Neural building blocks of the console: TCN, encoder, post-processor and differentiable effects."""

from dmc.nn.effects import Chain, Effect, Gain, NeuralEffects, Pan, channel_strip
from dmc.nn.encoder import TrackEncoder
from dmc.nn.postprocessor import PostProcessor
from dmc.nn.tcn import PRESETS, TCN

__all__ = [
    "PRESETS",
    "TCN",
    "Chain",
    "Effect",
    "Gain",
    "NeuralEffects",
    "Pan",
    "PostProcessor",
    "TrackEncoder",
    "channel_strip",
]
