"""Tiny console configurations shared by the model tests, offered as the ``tiny`` fixture.

Test files cannot import each other (``--import-mode=importlib``), so the helpers live on
one fixture object: ``tiny.console("drums")``, ``tiny.randomise(module)``,
``tiny.tracks(count)``, ``tiny.checkpoints()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch

from dmc.checkpoint import save_model
from dmc.console import DifferentiableMixingConsole
from dmc.nn.encoder import TrackEncoder
from dmc.nn.tcn import TCN


class Tiny:
    SR = 44100
    ENCODER: ClassVar[dict] = {
        "embedding_dim": 8,
        "channels": [4, 8],
        "num_mels": 16,
        "fft_size": 512,
        "hop_size": 256,
    }
    TCN: ClassVar[dict] = {
        "num_blocks": 3,
        "kernel_size": 3,
        "channels": 4,
        "dilation_growth": 2,
        "cond_dims": [8, 8],
    }

    def __init__(self, folder: Path):
        self.folder = folder

    @staticmethod
    def randomise(module: torch.nn.Module, seed: int = 0, scale: float = 0.5) -> torch.nn.Module:
        """Seeded noise in every weight, so zero/identity initialisations hide nothing."""
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in module.parameters():
                p.copy_(torch.randn(p.shape, generator=generator) * scale)
        return module

    def console(
        self, task: str, seed: int = 0, random_weights: bool = True, effects: str = "tcn"
    ) -> DifferentiableMixingConsole:
        torch.manual_seed(seed)
        uses_tcn = task == "full" and effects == "tcn"
        console = DifferentiableMixingConsole(
            task,
            encoder=self.ENCODER,
            tcn=self.TCN if uses_tcn else None,
            hidden_dim=16,
            effects=effects,
        )
        if random_weights:
            self.randomise(console.postprocessor, seed)
            if console.tcn is not None:
                self.randomise(console.tcn, seed + 1, scale=0.3)
        return console.eval()

    def tracks(
        self, count: int, seconds: float = 0.25, seed: int = 0, level: float = 0.05
    ) -> np.ndarray:
        rng = np.random.default_rng(seed)
        envelope = np.linspace(1.0, 0.2, int(seconds * self.SR))
        tracks = (
            rng.standard_normal((count, int(seconds * self.SR)))
            * envelope
            * rng.uniform(0.2, 1.0, (count, 1))
        )
        return (level * tracks).astype(np.float32)

    def checkpoints(self) -> tuple[Path, Path]:
        """A tiny untrained encoder and TCN saved as model files."""
        torch.manual_seed(0)
        encoder = save_model(self.folder / "encoder.pt", TrackEncoder(**self.ENCODER))
        tcn = save_model(self.folder / "tcn.pt", TCN(**self.TCN))
        return encoder, tcn


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors: one thread avoids thread hand-offs and spinning that cost more than the work
    (several times slower with two threads while other jobs share the two cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny(tmp_path) -> Tiny:
    return Tiny(tmp_path)
