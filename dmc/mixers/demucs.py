"""The Demucs baseline as a mixer (drums, N = 8), owned with dmc/nn/demucs.py; see docs/demucs.md."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch

from dmc.apply import overlap_add
from dmc.checkpoint import CheckpointError, read_model
from dmc.contracts.conditions import DEMUCS
from dmc.mixers.base import MixResult, at_caller_rate, at_model_rate
from dmc.mixers.spec import WHEN_AVAILABLE, BuildRequest, MethodSpec
from dmc.nn.demucs import DemucsMixer, arrange_drum_tracks
from dmc.pretrained import default_device, resolve


class DemucsBaselineMixer:
    """A trained :class:`dmc.nn.demucs.DemucsMixer` as a :class:`Mixer` named ``demucs``.

    Songs are mixed in blocks as long as the model's training segments, each given some
    context either side and cross-faded into its neighbours (:func:`overlap_add`):
    the U-Net only ever saw ``segment_seconds`` at a time while training, its BLSTM has no
    bounded memory, and memory stays flat for any song length. Block starts, lengths and
    context are whole multiples of the model's ``frame_samples``, so a model without
    LSTM or level normalisation mixes block-wise exactly as it mixes the whole signal.

    Args:
        model: the trained model (its track count, rate and segment come with it).
        device: where to run. Default: cuda if available, else cpu.
        overlap_fraction: cross-fade between blocks, as a fraction of a block. Default: 0.25.
        context_seconds: input added either side of a block and thrown away (s). Default: 0.25.
    """

    name = DEMUCS

    def __init__(
        self,
        model,
        device: str | torch.device | None = None,
        overlap_fraction: float = 0.25,
        context_seconds: float = 0.25,
    ):
        self.device = torch.device(device or default_device())
        self.model = model.to(self.device).eval()
        self.sample_rate = model.sample_rate
        # Whole bottleneck frames throughout, so every block sees the whole signal's frame grid.
        frame = model.frame_samples
        self.block_samples = frame * max(2, round(model.segment_seconds * self.sample_rate / frame))
        self.overlap_samples = frame * round(overlap_fraction * self.block_samples / frame)
        self.context_samples = frame * int(np.ceil(context_seconds * self.sample_rate / frame))

    @torch.no_grad()
    def mix(
        self, tracks: np.ndarray, sample_rate: int, names: Sequence[str] | None = None
    ) -> MixResult:
        """Mix ``(num_tracks, S)`` staged tracks, in the model's fixed order, into ``(2, S)``.

        Raises:
            ValueError: another number of tracks than the model's, empty or non-finite audio.
        """
        tracks = np.asarray(tracks, dtype=np.float32)
        expected = self.model.num_tracks
        if tracks.ndim != 2 or tracks.shape[0] != expected or tracks.shape[1] == 0:
            raise ValueError(
                f"the demucs baseline mixes exactly {expected} tracks, ({expected}, samples) in "
                f"the order of dmc.nn.demucs.DRUM_TRACK_ORDER; got shape {tracks.shape}"
            )
        work = at_model_rate(tracks, sample_rate, self.sample_rate)

        def run(block: torch.Tensor) -> torch.Tensor:
            return self.model(block[None].to(self.device))[0].cpu()

        audio = overlap_add(
            run,
            torch.from_numpy(np.ascontiguousarray(work)),
            self.block_samples,
            self.overlap_samples,
            self.context_samples,
        ).numpy()
        return MixResult(at_caller_rate(audio, self.sample_rate, sample_rate, tracks), None)


def load_demucs(
    checkpoint: str | os.PathLike | None = None, device: str | torch.device | None = None
) -> DemucsBaselineMixer:
    """The Demucs baseline as a Mixer; default checkpoint ``dmc/checkpoints/demucs_drums.pt``.

    Raises:
        CheckpointError: a missing or wrong file (one that does not hold a DemucsMixer, or
            holds one whose weights do not fit its recorded architecture, such as a file
            of the hand-written model the package's class replaced).
    """
    path = resolve(
        checkpoint if checkpoint is not None else "demucs_drums",
        make="python -m dmc.train demucs --export {path}",
    )
    try:
        model = read_model(path, DemucsMixer)
    except RuntimeError as exc:  # weights that do not fit the architecture the file names
        first_line = str(exc).strip().splitlines()[0]
        raise CheckpointError(
            f"{path} holds weights of another DemucsMixer architecture ({first_line}); "
            f"retrain it with `python -m dmc.train demucs --export {path}`"
        ) from None
    return DemucsBaselineMixer(model, device)


def _build(request: BuildRequest) -> DemucsBaselineMixer:
    return load_demucs(checkpoint=request.checkpoint, device=request.device)


METHODS = [
    MethodSpec(
        DEMUCS,
        ("drums",),
        "tracks",
        _build,
        default=WHEN_AVAILABLE,
        checkpoint=lambda task: "demucs_drums.pt",
        arrange=arrange_drum_tracks,
    )
]
