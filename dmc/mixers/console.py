"""The trained consoles as mixers: ``console`` (the paper's, effects heard through a TCN) and
``console_dsp`` (trained on the exact effects of :mod:`dmc.dsp`).

The console predicts parameters once per song (embeddings averaged over the whole song,
the context their mean); its channel strips render the song block-wise with the TCN's
receptive field as context (:func:`dmc.apply.overlap_add`), so a 5-minute, 16-track song
mixes in well under 4 GB. A console with the exact effects renders each track whole (a
compressor and a reverb remember further back than any block's context), a few tracks
per call.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch

from dmc.apply import overlap_add
from dmc.checkpoint import CheckpointError
from dmc.console import DifferentiableMixingConsole
from dmc.contracts.conditions import CONSOLE, CONSOLE_DSP
from dmc.effects.params import TASKS, task_parameters
from dmc.mixers.base import MixResult, at_caller_rate, at_model_rate
from dmc.mixers.spec import WHEN_AVAILABLE, BuildRequest, MethodSpec
from dmc.nn.encoder import level_features
from dmc.pretrained import default_device, get_model, resolve
from dmc.roles import side_from_name

#: Samples (tracks x length) a console with the exact effects renders per call.
WHOLE_TRACK_SAMPLES = 2**23


class ConsoleMixer:
    """A trained console as a :class:`dmc.mixers.base.Mixer`, named ``console`` (effects heard
    through its TCN) or ``console_dsp`` (the exact effects).

    Args:
        console: a :class:`DifferentiableMixingConsole`.
        device: where to run. Default: cuda if available, else cpu.
        block_seconds: length of each rendered block (s). Default: 10.
        overlap_seconds: cross-fade between blocks (s). Default: 0.1.
        track_batch: tracks rendered together per block (bounds memory). Default: 8.
    """

    def __init__(
        self,
        console: DifferentiableMixingConsole,
        device: str | torch.device | None = None,
        block_seconds: float = 10.0,
        overlap_seconds: float = 0.1,
        track_batch: int = 8,
    ):
        self.device = torch.device(device or default_device())
        self.console = console.to(self.device).eval()
        # a console on the exact effects renders whole tracks (its filters need no blocks)
        self.whole_tracks = getattr(console, "effects", "tcn") == "dsp"
        self.name = CONSOLE_DSP if self.whole_tracks else CONSOLE
        self.task = console.task
        self.space = console.space
        self.sample_rate = console.sample_rate
        self.block_samples = int(block_seconds * self.sample_rate)
        self.overlap_samples = int(overlap_seconds * self.sample_rate)
        self.track_batch = track_batch
        tcn = console.tcn
        self.context_samples = 0 if tcn is None else tcn.receptive_field // 2 + 1

    # ---------------------------------------------------------------- parameters
    @torch.no_grad()
    def embed_song(self, tracks: torch.Tensor) -> torch.Tensor:
        """Song-level embeddings ``(T, d)``: content averaged over chunks, level over the whole song."""
        encoder = self.console.encoder
        total = tracks.shape[-1]
        chunk = self.block_samples
        content = torch.zeros(tracks.shape[0], encoder.embedding_dim, device=self.device)
        for start in range(0, total, chunk):
            piece = tracks[:, start : start + chunk].to(self.device)
            if piece.shape[-1] < encoder.frontend.fft_size and start > 0:
                break  # a few leftover samples say nothing about the content
            content += encoder.content_embedding(piece) * piece.shape[-1]
            covered = start + piece.shape[-1]
        content /= covered
        if not encoder.use_level_features:
            return content
        mean_square = (
            torch.stack([(t.double() ** 2).mean() for t in tracks]).float().to(self.device)
        )
        peak = tracks.abs().amax(dim=-1).to(self.device)
        return torch.cat([content, level_features(mean_square, peak)], dim=-1)

    @torch.no_grad()
    def predict_parameters(
        self, tracks: np.ndarray, names: Sequence[str] | None = None
    ) -> np.ndarray:
        """Real-unit parameters ``(T, P)`` for staged tracks ``(T, S)`` at the console's rate.

        ``names`` give a console with side hints each track's side (no names: no hints).
        """
        tensor = torch.as_tensor(tracks, dtype=torch.float32)
        embeddings = self.embed_song(tensor)
        relations = self.console.relations(tensor[None])
        if relations is not None:
            relations = relations.to(self.device)
        sides = None
        if names is not None:
            if len(names) != tensor.shape[0]:
                raise ValueError(f"{len(names)} names for {tensor.shape[0]} tracks")
            sides = torch.tensor([[side_from_name(n) for n in names]], device=self.device)
        normalised = self.console.predict(embeddings[None], relations=relations, sides=sides)[0]
        return self.space.denormalize(normalised.double()).cpu().numpy()

    # ---------------------------------------------------------------- rendering
    @torch.no_grad()
    def render(self, tracks: np.ndarray, params: np.ndarray) -> np.ndarray:
        """Stereo mix ``(2, S)`` of staged tracks ``(T, S)`` with real-unit ``params`` ``(T, P)``."""
        tracks_t = torch.as_tensor(np.asarray(tracks, dtype=np.float32))
        params_t = torch.as_tensor(np.asarray(params, dtype=np.float32), device=self.device)
        if params_t.shape != (tracks_t.shape[0], len(self.space)):
            raise ValueError(
                f"expected parameters ({tracks_t.shape[0]}, {len(self.space)}), got {tuple(params_t.shape)}"
            )

        def mix_block(block: torch.Tensor, track_batch: int = self.track_batch) -> torch.Tensor:
            out = torch.zeros(2, block.shape[-1], device=self.device)
            for first in range(0, block.shape[0], track_batch):
                group = block[first : first + track_batch].to(self.device)
                rows = params_t[first : first + track_batch]
                out += self.console.render(group[None], rows[None])[0]
            return out.cpu()

        if self.whole_tracks:
            rows = max(1, min(self.track_batch, WHOLE_TRACK_SAMPLES // max(1, tracks_t.shape[-1])))
            return mix_block(tracks_t, rows).numpy()
        return overlap_add(
            mix_block, tracks_t, self.block_samples, self.overlap_samples, self.context_samples
        ).numpy()

    # ---------------------------------------------------------------- the Mixer contract
    def mix(
        self, tracks: np.ndarray, sample_rate: int, names: Sequence[str] | None = None
    ) -> MixResult:
        """Mix staged mono tracks ``(T, S)`` at any ``sample_rate``; returns ``(2, S)`` and real-unit params."""
        tracks = np.atleast_2d(np.asarray(tracks, dtype=np.float32))
        if tracks.ndim != 2 or tracks.shape[0] == 0 or tracks.shape[1] == 0:
            raise ValueError(
                f"tracks must be a non-empty (tracks, samples) array, got shape {tracks.shape}"
            )
        work = at_model_rate(tracks, sample_rate, self.sample_rate)
        params = self.predict_parameters(work, names)
        audio = at_caller_rate(self.render(work, params), self.sample_rate, sample_rate, tracks)
        return MixResult(audio, [self.space.to_dict(row) for row in params])


def load_console(
    task: str, checkpoint: str | os.PathLike | None = None, device: str | torch.device | None = None
) -> ConsoleMixer:
    """The console for ``task`` as a Mixer; default checkpoint ``dmc/checkpoints/console_<task>.pt``
    (``console_dsp_<task>.pt`` for the one trained on the exact effects: give it as ``checkpoint``).

    Raises:
        ValueError: unknown task; CheckpointError: a missing or wrong file, or a console
            trained for another task.
    """
    task_parameters(task)  # validates the task name
    path = resolve(
        checkpoint if checkpoint is not None else f"console_{task}",
        make=f"python -m dmc.train console --task {task} --export {{path}}",
    )
    console = get_model(path, DifferentiableMixingConsole)
    if console.task != task:
        raise CheckpointError(f"{path} is a console for task {console.task!r}, not {task!r}")
    return ConsoleMixer(console, device)


def _build(request: BuildRequest) -> ConsoleMixer:
    return load_console(request.task, checkpoint=request.checkpoint, device=request.device)


METHODS = [
    MethodSpec(
        CONSOLE,
        TASKS,
        "tracks",
        _build,
        checkpoint=lambda task: f"console_{task}.pt",
    ),
    MethodSpec(
        CONSOLE_DSP,
        TASKS,
        "tracks",
        _build,
        default=WHEN_AVAILABLE,
        checkpoint=lambda task: f"console_dsp_{task}.pt",
    ),
]
