"""The Demucs waveform U-Net, adapted from source separation to mixing (the paper's baseline).

Demucs (Défossez et al., "Music Source Separation in the Waveform Domain", arXiv:1911.13254)
maps one stereo mixture to several stereo sources with a convolutional U-Net on raw
samples: strided convolutions downsample, a bidirectional LSTM sees the whole excerpt at
the bottleneck, transposed convolutions upsample, and skip connections carry detail past
the bottleneck. Steinmetz et al. (arXiv:2010.10291) turn it around as a mixing baseline:
the input layer takes the N mono tracks as N channels and the output layer gives the two
channels of a stereo mix, trained end to end with the console's loss.

Unlike the console it learns no parameters a user could read, it cannot take another
number of tracks than the one it was built for (the track order is part of the input, so
it is fixed by the dataset), and its transposed convolutions leave periodic artefacts
(tones at the decoder levels' frame rates, measured in docs/demucs.md). Those are
findings the listening test is meant to show, not bugs.

Why it is written here: the ``demucs`` package (4.0.1) requires ``torchaudio``, and no
torchaudio on the registry accepts the project's pinned torch 2.13.0, so installing it
would replace torch with another multi-GB build. The architecture is small enough to
write from the paper's description; nothing is vendored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from dmc import SAMPLE_RATE
from dmc.checkpoint import register_model

#: The fixed input layout of the drums model: ENST-Drums' eight microphones, in order.
DRUM_TRACK_ORDER: tuple[str, ...] = (
    "kick",
    "snare",
    "hihat",
    "tom_1",
    "tom_2",
    "tom_3",
    "overhead_L",
    "overhead_R",
)
#: The role each slot of :data:`DRUM_TRACK_ORDER` takes.
DRUM_SLOT_ROLES: tuple[str, ...] = (
    "kick",
    "snare",
    "hihat",
    "tom",
    "tom",
    "tom",
    "overhead",
    "overhead",
)


def drum_slots(roles: Sequence[str]) -> list[int]:
    """The slot in :data:`DRUM_TRACK_ORDER` of each track, from the tracks' roles.

    The U-Net's input channels have fixed meanings, so a song whose tracks come in
    another order or number (a kit without a third tom, tracks named ``kick_0``) must be
    laid out first. Toms and overheads fill their slots in the order they come, so a
    song already in ENST order maps to ``[0, 1, ..., 7]``.

    Raises:
        ValueError: a role has no slot (``bass``, ``room``) or more tracks than slots.
    """
    free = list(range(len(DRUM_SLOT_ROLES)))
    slots = []
    for role in roles:
        slot = next((i for i in free if DRUM_SLOT_ROLES[i] == role), None)
        if slot is None:
            wanted = sum(r == role for r in roles)
            raise ValueError(
                f"the drums model has no free slot for a {role!r} track ({wanted} given); its "
                f"slots are {', '.join(DRUM_TRACK_ORDER)}"
            )
        free.remove(slot)
        slots.append(slot)
    return slots


def arrange_drum_tracks(tracks: np.ndarray, roles: Sequence[str]) -> np.ndarray:
    """``(tracks, samples)`` with ``roles`` -> ``(8, samples)`` float32 in :data:`DRUM_TRACK_ORDER`.

    Empty slots stay silent. Raises ValueError as :func:`drum_slots` does.
    """
    tracks = np.atleast_2d(np.asarray(tracks, dtype=np.float32))
    if len(roles) != tracks.shape[0]:
        raise ValueError(f"got {tracks.shape[0]} tracks but {len(roles)} roles")
    out = np.zeros((len(DRUM_SLOT_ROLES), tracks.shape[1]), dtype=np.float32)
    out[drum_slots(roles)] = tracks
    return out


class _BLSTM(nn.Module):
    """Bidirectional LSTM over time, projected back to the input width.

    Shape:
        ``(batch, channels, frames)`` -> ``(batch, channels, frames)``.
    """

    def __init__(self, channels: int, num_layers: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(channels, channels, num_layers=num_layers, bidirectional=True)
        self.linear = nn.Linear(2 * channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.lstm(x.permute(2, 0, 1))  # (frames, batch, 2 * channels)
        return self.linear(y).permute(1, 2, 0)


def _encoder_block(in_channels: int, channels: int, kernel_size: int, stride: int) -> nn.Sequential:
    """Strided conv + ReLU, then a 1x1 conv to twice the width gated back by a GLU."""
    return nn.Sequential(
        nn.Conv1d(in_channels, channels, kernel_size, stride),
        nn.ReLU(),
        nn.Conv1d(channels, 2 * channels, 1),
        nn.GLU(dim=1),
    )


def _decoder_block(
    channels: int, out_channels: int, kernel_size: int, stride: int, context: int, last: bool
) -> nn.Sequential:
    """A length-preserving conv of width ``context`` + GLU, then the upsampling transposed conv.

    The last block (the output layer) has no ReLU, so the mix can take either sign.
    """
    layers: list[nn.Module] = [
        nn.Conv1d(channels, 2 * channels, context, padding=context // 2),
        nn.GLU(dim=1),
        nn.ConvTranspose1d(channels, out_channels, kernel_size, stride),
    ]
    if not last:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


@register_model
class DemucsMixer(nn.Module):
    """Demucs U-Net taking ``num_tracks`` mono tracks and returning an ``audio_channels`` mix.

    The model carries its own metadata (rate, track count, training segment) as
    constructor arguments, which ``@register_model`` records in ``init_kwargs``, so its
    checkpoint alone is enough to mix with it; no training configuration is needed.

    Args:
        num_tracks (int): input tracks N, in the order the dataset fixes (for ENST-Drums:
            kick, snare, hihat, tom_1..3, overhead_L, overhead_R). Default 8.
        audio_channels (int): channels of the output mix. Default 2 (stereo).
        sample_rate (int): rate the model was trained at (Hz); metadata only. Default 44100.
        segment_seconds (float): length of the training excerpts (s); metadata, and a
            sensible block length for block-wise inference. Default 2.0.
        channels (int): width of the first encoder block. Default 16.
        growth (float): width multiplier from one block to the next. Default 2.0.
        depth (int): number of encoder (and decoder) blocks; the bottleneck runs at
            ``sample_rate / stride ** depth`` frames per second. Default 4.
        kernel_size (int): kernel of the strided and transposed convolutions (samples).
            Default 8.
        stride (int): downsampling factor of every encoder block. Default 4.
        context (int): kernel of the decoder's length-preserving conv (odd). Default 3.
        lstm_layers (int): layers of the bottleneck BLSTM; 0 leaves it out. Default 2.
        normalize (bool): divide the input by its standard deviation (over tracks and
            time) and multiply the output back, so scaling every track scales the mix by
            the same factor, as a mixing desk does. Default True.
        rescale (float): if positive, scale every conv's initial weights toward this
            standard deviation (the Demucs paper found small initial weights train
            better); 0 keeps PyTorch's initialisation. Default 0.1.

    Shape:
        ``forward``: ``(batch, num_tracks, samples)`` -> ``(batch, audio_channels, samples)``,
        for any ``samples >= 1`` (padded internally to :meth:`valid_length`, then cropped).
    """

    def __init__(
        self,
        num_tracks: int = 8,
        audio_channels: int = 2,
        sample_rate: int = SAMPLE_RATE,
        segment_seconds: float = 2.0,
        # Channels
        channels: int = 16,
        growth: float = 2.0,
        # Convolutions
        depth: int = 4,
        kernel_size: int = 8,
        stride: int = 4,
        context: int = 3,
        # Bottleneck and scale
        lstm_layers: int = 2,
        normalize: bool = True,
        rescale: float = 0.1,
    ) -> None:
        super().__init__()
        for name, value in (
            ("num_tracks", num_tracks),
            ("audio_channels", audio_channels),
            ("channels", channels),
            ("depth", depth),
            ("stride", stride),
            ("sample_rate", sample_rate),
        ):
            if int(value) < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if kernel_size < stride:
            raise ValueError(
                f"kernel_size ({kernel_size}) must be at least stride ({stride}) "
                "or the encoder skips samples"
            )
        if context < 1 or context % 2 == 0:
            raise ValueError(f"context must be a positive odd number, got {context}")
        if growth < 1.0:
            raise ValueError(f"growth must be at least 1, got {growth}")
        if lstm_layers < 0:
            raise ValueError(f"lstm_layers must be 0 or more, got {lstm_layers}")
        self.num_tracks = int(num_tracks)
        self.audio_channels = int(audio_channels)
        self.sample_rate = int(sample_rate)
        self.segment_seconds = float(segment_seconds)
        self.depth = int(depth)
        self.kernel_size = int(kernel_size)
        self.stride = int(stride)
        self.normalize = bool(normalize)

        widths = [int(round(channels * growth**i)) for i in range(depth)]
        self.encoder = nn.ModuleList()
        self.decoder = nn.ModuleList()  # stored deepest first, the order it runs in
        in_channels, out_channels = self.num_tracks, self.audio_channels
        for i, width in enumerate(widths):
            self.encoder.append(_encoder_block(in_channels, width, kernel_size, stride))
            self.decoder.insert(
                0, _decoder_block(width, out_channels, kernel_size, stride, context, last=(i == 0))
            )
            in_channels, out_channels = width, width
        self.lstm = _BLSTM(widths[-1], lstm_layers) if lstm_layers else None
        if rescale > 0:
            self._rescale_weights(rescale)

    def _rescale_weights(self, reference: float) -> None:
        """Move each conv's initial weight std halfway (geometrically) toward ``reference``."""
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)):
                    factor = math.sqrt(module.weight.std().item() / reference)
                    module.weight.div_(factor)
                    if module.bias is not None:
                        module.bias.div_(factor)

    @property
    def frame_samples(self) -> int:
        """Input samples per bottleneck frame (``stride ** depth``): the grid blocks align to."""
        return self.stride**self.depth

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def valid_length(self, num_samples: int) -> int:
        """Smallest length ``>= num_samples`` that every strided conv divides exactly.

        At such a length the decoder's output is exactly as long as the input and every
        skip connection meets a decoder input of its own length, so nothing is cropped
        inside the network and the output stays aligned with the input sample for sample.
        """
        if num_samples < 1:
            raise ValueError(f"need at least one sample, got {num_samples}")
        frames = num_samples
        for _ in range(self.depth):
            frames = max(1, math.ceil((frames - self.kernel_size) / self.stride) + 1)
        for _ in range(self.depth):
            frames = (frames - 1) * self.stride + self.kernel_size
        return frames

    def forward(self, tracks: torch.Tensor) -> torch.Tensor:
        """Mix staged mono tracks ``(batch, num_tracks, S)`` into ``(batch, audio_channels, S)``.

        Raises:
            ValueError: the input is not 3-D or has another number of tracks than ``num_tracks``.
        """
        if tracks.dim() != 3 or tracks.shape[1] != self.num_tracks:
            raise ValueError(
                f"DemucsMixer was built for {self.num_tracks} tracks and expects "
                f"(batch, {self.num_tracks}, samples), got shape {tuple(tracks.shape)}"
            )
        num_samples = tracks.shape[-1]
        x = tracks
        if self.normalize:
            scale = x.flatten(1).std(dim=1, unbiased=False).clamp_min(1e-5)[:, None, None]
            x = x / scale
        # Pad on the right only: the frame grid then starts at sample 0 whatever the
        # length, so blocks that start on a multiple of ``stride ** depth`` see the same
        # grid as the whole signal (block-wise inference matches whole-signal inference).
        x = nn.functional.pad(x, (0, self.valid_length(num_samples) - num_samples))

        skips = []
        for block in self.encoder:
            x = block(x)
            skips.append(x)
        if self.lstm is not None:
            x = self.lstm(x)
        for block in self.decoder:
            x = block(x + skips.pop())

        x = x[..., :num_samples]
        if self.normalize:
            x = x * scale
        return x
