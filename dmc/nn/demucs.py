"""The Demucs waveform U-Net of the ``demucs`` package, adapted from separation to mixing.

Demucs (Défossez et al., "Music Source Separation in the Waveform Domain", arXiv:1911.13254)
maps one stereo mixture to several stereo sources with a convolutional U-Net on raw
samples: strided convolutions downsample, a bidirectional LSTM sees the whole excerpt at
the bottleneck, transposed convolutions upsample, and skip connections carry detail past
the bottleneck. Steinmetz et al. (arXiv:2010.10291) turn it around as a mixing baseline:
the input layer takes the N mono tracks as N channels and the output layer gives the two
channels of a stereo mix, trained end to end with the console's loss.

The network is the package's own :class:`demucs.demucs.Demucs` (``demucs`` 4.1.0, MIT),
used, not copied. :class:`DemucsMixer` subclasses it and changes only what the
adaptation needs: the input layer, and the padding and output shape around the
package's ``forward`` (see the class). Everything else, its blocks, residual branches,
BLSTM, level normalisation, x2 resampling and initial weight scaling, is the package's.

Unlike the console it learns no parameters a user could read, it cannot take another
number of tracks than the one it was built for (the track order is part of the input, so
it is fixed by the dataset), and its transposed convolutions can leave periodic artefacts
(tones at the decoder levels' frame rates, measured in docs/demucs.md). Those are
findings the listening test is meant to show, not bugs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from demucs.demucs import Demucs, rescale_conv
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


@register_model
class DemucsMixer(Demucs):
    """The package's Demucs taking ``num_tracks`` mono tracks and returning one ``audio_channels`` mix.

    The adaptation, and all of it:

    - The package builds a separator for one source, ``sources=["mix"]``, whose output
      layer already gives ``audio_channels`` (2) channels: the stereo mix.
    - Its input layer, the first encoder convolution, is replaced by one of the same
      width, kernel and stride that takes ``num_tracks`` channels (the package builds it
      for ``audio_channels``), with the package's initial weight scaling.
    - ``forward`` pads the tracks on the right to :meth:`valid_length` before the
      package's ``forward`` (which would pad both ends by an amount that depends on the
      length), crops the result back and drops the single source axis. The frame grid
      then starts at sample 0 whatever the length, so a block that starts on a multiple of
      :attr:`frame_samples` sees the grid the whole song sees, and the package's level
      statistics never see a one-sample signal.

    The model carries its own metadata (rate, track count, training segment) as
    constructor arguments, which ``@register_model`` records in ``init_kwargs``, so its
    checkpoint alone is enough to mix with it. Options the package has but this class
    does not expose keep the package's defaults (group norm from the fifth level on,
    attention and LSTMs inside the residual branches from the fifth level on).

    Args:
        num_tracks (int): input tracks N, in the order the dataset fixes (for ENST-Drums:
            kick, snare, hihat, tom_1..3, overhead_L, overhead_R). Default 8.
        audio_channels (int): channels of the output mix. Default 2 (stereo).
        sample_rate (int): rate the model was trained at (Hz); metadata only. Default 44100.
        segment_seconds (float): length of the training excerpts (s); metadata, and a
            sensible block length for block-wise inference. Default 2.0.
        channels (int): width of the first encoder block. Default 16.
        growth (float): width multiplier from one block to the next. Default 2.0.
        depth (int): encoder (and decoder) blocks. Default 4.
        kernel_size (int): kernel of the strided and transposed convolutions. Default 8.
        stride (int): downsampling factor of every encoder block. Default 4.
        context (int): the decoder's 1x1 rewrite becomes a ``2 * context + 1`` kernel. Default 1.
        lstm_layers (int): layers of the bottleneck BLSTM; 0 leaves it out. Default 2.
        rewrite (bool): the 1x1 convolutions after (encoder) and before (decoder) each
            strided convolution. Default True.
        glu (bool): gate the rewrite convolutions with a GLU (else ReLU). Default True.
        gelu (bool): GELU after the strided convolutions (else ReLU). Default True.
        dconv_mode (int): the package's residual branches of dilated convolutions:
            0 none, 1 encoder, 2 decoder, 3 both. Default 1.
        dconv_depth (int): layers in each residual branch. Default 2.
        dconv_comp (float): channel compression inside a residual branch. Default 4.
        normalize (bool): the package's level normalisation: the input is centred and
            divided by the standard deviation of its mean over tracks, and the output
            is scaled back, so scaling every track scales the mix by the same factor.
            Default True.
        resample (bool): the package's x2 upsampling of the input and /2 downsampling of
            the output (sinc resampling), so the U-Net runs at twice the sample rate.
            Default True.
        rescale (float): scale every conv's initial weights toward this standard
            deviation, as the package does; 0 keeps PyTorch's initialisation. Default 0.1.

    Shape:
        ``forward``: ``(batch, num_tracks, samples)`` -> ``(batch, audio_channels, samples)``,
        for any ``samples >= 1``.
    """

    def __init__(
        self,
        num_tracks: int = 8,
        audio_channels: int = 2,
        sample_rate: int = SAMPLE_RATE,
        segment_seconds: float = 2.0,
        channels: int = 16,
        growth: float = 2.0,
        depth: int = 4,
        kernel_size: int = 8,
        stride: int = 4,
        context: int = 1,
        lstm_layers: int = 2,
        rewrite: bool = True,
        glu: bool = True,
        gelu: bool = True,
        dconv_mode: int = 1,
        dconv_depth: int = 2,
        dconv_comp: float = 4,
        normalize: bool = True,
        resample: bool = True,
        rescale: float = 0.1,
    ) -> None:
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
        if context < 0:
            raise ValueError(f"context must be 0 or more, got {context}")
        if growth < 1.0:
            raise ValueError(f"growth must be at least 1, got {growth}")
        if lstm_layers < 0:
            raise ValueError(f"lstm_layers must be 0 or more, got {lstm_layers}")
        if dconv_mode not in (0, 1, 2, 3):
            raise ValueError(f"dconv_mode must be 0, 1, 2 or 3, got {dconv_mode!r}")
        if dconv_mode and channels < dconv_comp:
            raise ValueError(
                f"dconv_comp ({dconv_comp}) leaves no channels in the residual branches of "
                f"width {channels}; use dconv_comp <= channels or dconv_mode=0"
            )
        super().__init__(
            sources=["mix"],
            audio_channels=int(audio_channels),
            channels=int(channels),
            growth=float(growth),
            depth=int(depth),
            rewrite=bool(rewrite),
            lstm_layers=int(lstm_layers),
            kernel_size=int(kernel_size),
            stride=int(stride),
            context=int(context),
            gelu=bool(gelu),
            glu=bool(glu),
            dconv_mode=int(dconv_mode),
            dconv_depth=int(dconv_depth),
            dconv_comp=dconv_comp,
            normalize=bool(normalize),
            resample=bool(resample),
            rescale=float(rescale),
            samplerate=int(sample_rate),
            segment=float(segment_seconds),
        )
        self.num_tracks = int(num_tracks)
        first = self.encoder[0][0]
        self.encoder[0][0] = nn.Conv1d(
            self.num_tracks, first.out_channels, first.kernel_size, first.stride
        )
        if rescale:
            rescale_conv(self.encoder[0][0], reference=rescale)

    @property
    def sample_rate(self) -> int:
        return self.samplerate

    @property
    def segment_seconds(self) -> float:
        return self.segment

    @property
    def frame_samples(self) -> int:
        """Input samples per bottleneck frame: the grid blocks must align to.

        ``stride ** depth``, halved when the U-Net runs at twice the input rate.
        """
        return self.stride**self.depth // (2 if self.resample else 1)

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def valid_length(self, length: int) -> int:
        """The package's valid length (``>= length``, every strided conv divides it exactly).

        Raises:
            ValueError: ``length`` is below one sample.
        """
        if length < 1:
            raise ValueError(f"need at least one sample, got {length}")
        return super().valid_length(int(length))

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
        padded = nn.functional.pad(tracks, (0, self.valid_length(num_samples) - num_samples))
        return super().forward(padded)[:, 0, :, :num_samples]
