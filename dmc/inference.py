"""Load a trained console and mix whole songs with it (the :class:`dmc.mixing.Mixer` contract).

Parameters are predicted once per song: every track's embedding is averaged over the
whole song (in chunks, so memory stays flat), the context is their mean, and the
post-processor runs once. The channel strips then render the song block-wise with
overlap-add (:mod:`dmc.apply`), with enough context around each block for the TCN's
receptive field, so a 5-minute, 16-track song mixes in well under 4 GB.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from dmc.apply import overlap_add
from dmc.audio import resample
from dmc.checkpoint import CheckpointError, load_model
from dmc.console import DifferentiableMixingConsole
from dmc.effects.params import task_parameters
from dmc.mixing import MixResult
from dmc.nn.encoder import level_features

#: Where shipped checkpoints live (package data).
CHECKPOINT_DIR = Path(__file__).parent / "checkpoints"


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def default_checkpoint(task: str) -> Path:
    task_parameters(task)  # validates the task name
    return CHECKPOINT_DIR / f"console_{task}.pt"


class ConsoleMixer:
    """A trained console as a :class:`dmc.mixing.Mixer`.

    Args:
        console: a :class:`DifferentiableMixingConsole`.
        device: where to run. Default: cuda if available, else cpu.
        block_seconds: length of each rendered block (s). Default: 10.
        overlap_seconds: cross-fade between blocks (s). Default: 0.1.
        track_batch: tracks rendered together per block (bounds memory). Default: 8.
    """

    name = "console"

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
    def predict_parameters(self, tracks: np.ndarray) -> np.ndarray:
        """Real-unit parameters ``(T, P)`` for staged tracks ``(T, S)`` at the console's rate."""
        embeddings = self.embed_song(torch.as_tensor(tracks, dtype=torch.float32))
        normalised = self.console.predict(embeddings[None])[0]
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

        def mix_block(block: torch.Tensor) -> torch.Tensor:
            out = torch.zeros(2, block.shape[-1], device=self.device)
            for first in range(0, block.shape[0], self.track_batch):
                group = block[first : first + self.track_batch].to(self.device)
                rows = params_t[first : first + self.track_batch]
                out += self.console.render(group[None], rows[None])[0]
            return out.cpu()

        return overlap_add(
            mix_block, tracks_t, self.block_samples, self.overlap_samples, self.context_samples
        ).numpy()

    # ---------------------------------------------------------------- the Mixer contract
    def mix(self, tracks: np.ndarray, sample_rate: int) -> MixResult:
        """Mix staged mono tracks ``(T, S)`` at any ``sample_rate``; returns ``(2, S)`` and real-unit params."""
        tracks = np.atleast_2d(np.asarray(tracks, dtype=np.float32))
        if tracks.ndim != 2 or tracks.shape[0] == 0 or tracks.shape[1] == 0:
            raise ValueError(
                f"tracks must be a non-empty (tracks, samples) array, got shape {tracks.shape}"
            )
        work = _at_model_rate(tracks, sample_rate, self.sample_rate)
        params = self.predict_parameters(work)
        audio = _at_caller_rate(self.render(work, params), self.sample_rate, sample_rate, tracks)
        return MixResult(audio, [self.space.to_dict(row) for row in params])


def _at_model_rate(tracks: np.ndarray, sample_rate: int, model_rate: int) -> np.ndarray:
    """Finite-checked tracks resampled to the model's rate (the Mixers' shared input path)."""
    if not np.all(np.isfinite(tracks)):
        raise ValueError("tracks contain NaN or infinite samples")
    return resample(tracks, sample_rate, model_rate) if sample_rate != model_rate else tracks


def _at_caller_rate(
    audio: np.ndarray, model_rate: int, sample_rate: int, tracks: np.ndarray
) -> np.ndarray:
    """A mix back at the caller's rate, trimmed or padded to the input tracks' length."""
    if sample_rate != model_rate:
        audio = resample(audio, model_rate, sample_rate)
    length = tracks.shape[-1]
    if audio.shape[-1] >= length:
        return audio[..., :length]
    return np.pad(audio, ((0, 0), (0, length - audio.shape[-1])))


def load_console(
    task: str, checkpoint: str | os.PathLike | None = None, device: str | torch.device | None = None
) -> ConsoleMixer:
    """The console for ``task`` as a Mixer; default checkpoint ``dmc/checkpoints/console_<task>.pt``.

    Raises:
        ValueError: unknown task; CheckpointError: a missing or wrong file, or a console
            trained for another task.
    """
    path = Path(checkpoint) if checkpoint is not None else default_checkpoint(task)
    if not path.is_file():
        raise CheckpointError(
            f"console checkpoint not found: {path} (make one with "
            f"`python -m dmc.train console --task {task} --export {path}`)"
        )
    console = load_model(path)
    if not isinstance(console, DifferentiableMixingConsole):
        raise CheckpointError(f"{path} holds a {type(console).__name__}, not a mixing console")
    if console.task != task:
        raise CheckpointError(f"{path} is a console for task {console.task!r}, not {task!r}")
    return ConsoleMixer(console, device)


def params_matrix(space, settings: Sequence[dict]) -> np.ndarray:
    """Real-unit ``(T, P)`` from one ``{name: value}`` dict per track (validated, defaults filled)."""
    return (
        np.stack([space.from_dict(s) for s in settings]) if settings else np.zeros((0, len(space)))
    )


# ----------------------------------------------------------------------------------------------
# The Demucs baseline (drums, N = 8), owned with dmc/nn/demucs.py; see docs/demucs.md.


class DemucsBaselineMixer:
    """A trained :class:`dmc.nn.demucs.DemucsMixer` as a :class:`dmc.mixing.Mixer` named ``demucs``.

    Songs are mixed in blocks as long as the model's training segments, each given some
    context either side and cross-faded into its neighbours (:func:`dmc.apply.overlap_add`):
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

    name = "demucs"

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
    def mix(self, tracks: np.ndarray, sample_rate: int) -> MixResult:
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
        work = _at_model_rate(tracks, sample_rate, self.sample_rate)

        def run(block: torch.Tensor) -> torch.Tensor:
            return self.model(block[None].to(self.device))[0].cpu()

        audio = overlap_add(
            run,
            torch.from_numpy(np.ascontiguousarray(work)),
            self.block_samples,
            self.overlap_samples,
            self.context_samples,
        ).numpy()
        return MixResult(_at_caller_rate(audio, self.sample_rate, sample_rate, tracks), None)


def load_demucs(
    checkpoint: str | os.PathLike | None = None, device: str | torch.device | None = None
) -> DemucsBaselineMixer:
    """The Demucs baseline as a Mixer; default checkpoint ``dmc/checkpoints/demucs_drums.pt``.

    Raises:
        CheckpointError: a missing or wrong file (one that does not hold a DemucsMixer, or
            holds one whose weights do not fit its recorded architecture, such as a file
            of the hand-written model the package's class replaced).
    """
    from dmc.nn.demucs import DemucsMixer  # importing registers the class with dmc.checkpoint

    path = Path(checkpoint) if checkpoint is not None else CHECKPOINT_DIR / "demucs_drums.pt"
    if not path.is_file():
        raise CheckpointError(
            f"demucs checkpoint not found: {path} (make one with "
            f"`python -m dmc.train demucs --export {path}`)"
        )
    try:
        model = load_model(path)
    except RuntimeError as exc:  # weights that do not fit the architecture the file names
        first_line = str(exc).strip().splitlines()[0]
        raise CheckpointError(
            f"{path} holds weights of another DemucsMixer architecture ({first_line}); "
            f"retrain it with `python -m dmc.train demucs --export {path}`"
        ) from None
    if not isinstance(model, DemucsMixer):
        raise CheckpointError(f"{path} holds a {type(model).__name__}, not a DemucsMixer")
    return DemucsBaselineMixer(model, device)
