"""Apply trained models to whole songs: block-wise overlap-add and the Mixer contract.

Every mixing method (the console, the baselines, the Demucs adaptation) is a
:class:`Mixer`: staged mono tracks in, a :class:`MixResult` out (a stereo mix and, where
the method has them, per-track parameters in real units). This module turns a trained
model into one:

- :func:`overlap_add` runs any model block by block with context and cross-fades, so
  songs of any length fit in memory (for a model whose output depends on at most
  ``context_samples`` either side, the result equals the whole-signal one);
- :class:`ConsoleMixer` / :func:`load_console`: the console predicts parameters once per
  song (embeddings averaged over the whole song, the context their mean) and its
  channel strips render the song block-wise with the TCN's receptive field as context,
  so a 5-minute, 16-track song mixes in well under 4 GB; a console with the exact
  effects renders each track whole (a compressor and a reverb remember further back than
  any block's context), a few tracks per call;
- :class:`DemucsBaselineMixer` / :func:`load_demucs`: the Demucs baseline (drums, N = 8).

Models are found by name or path through :mod:`dmc.pretrained`; ``python -m dmc.mix`` is
the command line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from dmc.audio import resample
from dmc.checkpoint import CheckpointError, load_model
from dmc.console import DifferentiableMixingConsole
from dmc.effects.params import task_parameters
from dmc.nn.encoder import level_features
from dmc.pretrained import default_device, get_model, resolve
from dmc.roles import side_from_name

# ----------------------------------------------------------------------------------------------
# What every mixing method returns.


@dataclass
class MixResult:
    """A stereo mix and, for methods that have them, per-track parameters in real units.

    Args:
        audio: float32 ``(2, samples)``, same length as the input tracks.
        params: one ``{parameter_name: value}`` dict per input track (dB, Hz, ms, pan 0-1),
            or None for methods without human-readable parameters (demucs, target).
    """

    audio: np.ndarray
    params: list[dict[str, float]] | None = None

    def __post_init__(self) -> None:
        self.audio = np.asarray(self.audio, dtype=np.float32)
        if self.audio.ndim != 2 or self.audio.shape[0] != 2:
            raise ValueError(f"a mix must be (2, samples), got {self.audio.shape}")
        if not np.all(np.isfinite(self.audio)):
            raise ValueError("a mix contains NaN or infinite samples")


class Mixer(Protocol):
    """A mixing method: staged mono tracks in, stereo mix out."""

    name: str

    def mix(
        self, tracks: np.ndarray, sample_rate: int, names: Sequence[str] | None = None
    ) -> MixResult:
        """Mix ``tracks`` of shape ``(tracks, samples)`` (float32, after gain staging).

        ``names`` (one per track, e.g. file names) is for methods that read them (a
        console with side hints); the others ignore it.
        """
        ...


# ----------------------------------------------------------------------------------------------
# Block-wise application with overlap-add.


def _ramp(length: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return (torch.arange(length, dtype=dtype, device=device) + 0.5) / length


def block_starts(num_samples: int, block_samples: int, overlap_samples: int) -> list[int]:
    """Start of every block; each block but the last is ``block_samples`` long."""
    if block_samples <= 0 or not 0 <= overlap_samples < block_samples:
        raise ValueError(
            f"need block_samples > overlap_samples >= 0, got {block_samples} and {overlap_samples}"
        )
    hop = block_samples - overlap_samples
    starts = [0]
    while starts[-1] + block_samples < num_samples:
        starts.append(starts[-1] + hop)
    return starts


def overlap_add(
    fn: Callable[[torch.Tensor], torch.Tensor],
    audio: torch.Tensor,
    block_samples: int,
    overlap_samples: int = 0,
    context_samples: int = 0,
) -> torch.Tensor:
    """Apply ``fn`` to ``audio`` block by block along the last axis and join the outputs.

    Args:
        fn: maps ``(..., L)`` to ``(..., L)`` with any leading shape (e.g. tracks to a
            stereo mix); must keep the length.
        audio: ``(..., samples)``.
        block_samples: samples each call produces (the last block may be shorter).
        overlap_samples: cross-fade length between blocks. Default: 0.
        context_samples: extra input samples given on each side and discarded. Default: 0.

    Returns:
        ``fn``'s output for the whole signal, ``(..., samples)``.
    """
    total = audio.shape[-1]
    if context_samples < 0:
        raise ValueError(f"context_samples must be >= 0, got {context_samples}")
    starts = block_starts(total, block_samples, overlap_samples)
    out = None
    for i, start in enumerate(starts):
        stop = min(start + block_samples, total)
        lo, hi = max(0, start - context_samples), min(total, stop + context_samples)
        block = fn(audio[..., lo:hi])
        if block.shape[-1] != hi - lo:
            raise ValueError(
                f"fn changed the length of a block from {hi - lo} to {block.shape[-1]} samples"
            )
        block = block[..., start - lo : stop - lo]
        if overlap_samples:
            weight = torch.ones(stop - start, dtype=block.dtype, device=block.device)
            if i > 0:
                weight[:overlap_samples] = _ramp(overlap_samples, block.dtype, block.device)
            if i < len(starts) - 1:
                weight[-overlap_samples:] = 1.0 - _ramp(overlap_samples, block.dtype, block.device)
            block = block * weight
        if out is None:
            out = block.new_zeros(block.shape[:-1] + (total,))
        out[..., start:stop] += block
    return out


# ----------------------------------------------------------------------------------------------
# The console as a Mixer.


#: Samples (tracks x length) a console with the exact effects renders per call.
WHOLE_TRACK_SAMPLES = 2**23


class ConsoleMixer:
    """A trained console as a :class:`Mixer`.

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
        self.whole_tracks = getattr(console, "effects", "tcn") == "dsp"

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
        work = _at_model_rate(tracks, sample_rate, self.sample_rate)
        params = self.predict_parameters(work, names)
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
    task_parameters(task)  # validates the task name
    path = resolve(
        checkpoint if checkpoint is not None else f"console_{task}",
        make=f"python -m dmc.train console --task {task} --export {{path}}",
    )
    console = get_model(path, DifferentiableMixingConsole)
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

    path = resolve(
        checkpoint if checkpoint is not None else "demucs_drums",
        make="python -m dmc.train demucs --export {path}",
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
