"""The post-processor: a shared MLP from (track embedding, mix context) to parameters."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from dmc.checkpoint import register_model


@register_model
class PostProcessor(nn.Module):
    """MLP ``2d -> hidden -> hidden -> P`` with PReLU and dropout, squashed by a sigmoid.

    The paper squashes with tanh; the author's later code uses a sigmoid, which maps
    straight onto the [0, 1] normalised parameter ranges used here.

    Why the special initialisation: an untrained console should sound like a neutral
    desk (unity gain, flat EQ, no compression, dry, centred), not like random settings.
    The output layer starts with small weights and a bias equal to the logit of the
    neutral setting; neutral values at the edge of their range (ratio 1, wet 0) are
    pulled ``edge_margin`` inside, where the sigmoid still has a usable gradient.

    Args:
        input_dim (int): ``2 * d``, the track embedding concatenated with the context.
        num_params (int): P, the parameters of the task.
        hidden_dim (int): width of the two hidden layers. Default: 256.
        dropout (float): dropout after each hidden layer. Default: 0.2.
        neutral (list of float, optional): the neutral setting, normalised, ``(P,)``.
            Default: 0.5 everywhere.
        edge_margin (float): how far inside [0, 1] the initial output stays. Default: 0.05.

    Shape:
        ``(..., input_dim)`` -> ``(..., num_params)`` in (0, 1).
    """

    def __init__(
        self,
        input_dim: int,
        num_params: int,
        hidden_dim: int = 256,
        dropout: float = 0.2,
        neutral: Sequence[float] | None = None,
        edge_margin: float = 0.05,
    ):
        super().__init__()
        if neutral is not None and len(neutral) != num_params:
            raise ValueError(f"neutral setting has {len(neutral)} values, expected {num_params}")
        self.net = nn.Sequential(
            nn.Linear(input_dim, hidden_dim),
            nn.PReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_dim, hidden_dim),
            nn.PReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_dim, num_params),
        )
        last = self.net[-1]
        with torch.no_grad():
            last.weight.mul_(0.01)
            values = [0.5] * num_params if neutral is None else list(neutral)
            clipped = [min(max(v, edge_margin), 1.0 - edge_margin) for v in values]
            last.bias.copy_(torch.tensor([math.log(v / (1.0 - v)) for v in clipped]))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(features))
