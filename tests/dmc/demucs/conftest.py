"""Tiny Demucs configurations and seeded drum-like multitracks for the demucs tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dmc.nn.demucs import DemucsMixer


@pytest.fixture
def tiny_kwargs() -> dict:
    """A few thousand parameters: builds and runs in milliseconds."""
    return dict(channels=4, depth=2, kernel_size=8, stride=4, lstm_layers=1, sample_rate=8000)


@pytest.fixture
def tiny_model(tiny_kwargs) -> DemucsMixer:
    torch.manual_seed(0)
    return DemucsMixer(**tiny_kwargs)


@pytest.fixture
def eight_tracks(make_drums):
    """Eight seeded drum-like mono tracks at 8 kHz, ``(8, samples)`` float32."""

    def make(seconds: float = 0.5, sample_rate: int = 8000) -> np.ndarray:
        return np.stack([make_drums(seconds, sample_rate=sample_rate, seed=s) for s in range(8)])

    return make
