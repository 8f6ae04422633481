"""The track encoder: a log-mel CNN pre-trained here as a track-role classifier.

The paper encodes every track with VGGish (pre-trained on AudioSet, 128-d, frozen,
averaged over time). Those hub weights cannot be downloaded in this project, so the
encoder is trained by ``python -m dmc.train encoder`` to recognise track roles
(:data:`dmc.roles.ROLES`) on the demo multitracks: what a mixing engineer first wants
to know about a channel. Its time-averaged penultimate features are the embedding.

Why level features: a role classifier is trained to ignore level (random gain
augmentation), yet the console sets gains and must know how loud and how peaky each
staged track is. Three numbers are therefore appended to the learnt embedding, each
scaled to roughly unit range (documented in ``docs/model.md``):

- ``(rms_db + 30) / 20``: RMS level in dBFS (staged tracks sit near -30 dB);
- ``(peak_db + 10) / 20``: sample peak in dBFS;
- ``(crest_db - 15) / 10``: peak-to-RMS ratio, high for drums, low for pads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from dmc import SAMPLE_RATE
from dmc.checkpoint import register_model
from dmc.roles import ROLES

#: Floor of the level features (dB): a silent track reads as this level, never -inf.
LEVEL_FLOOR_DB = -100.0
NUM_LEVEL_FEATURES = 3


def mel_filterbank(
    sample_rate: int, fft_size: int, num_mels: int, min_hz: float, max_hz: float
) -> torch.Tensor:
    """Triangular filters on the HTK mel scale, ``(num_mels, fft_size // 2 + 1)``, each peaking at 1."""
    if not 0 <= min_hz < max_hz <= sample_rate / 2:
        raise ValueError(f"mel range {min_hz}-{max_hz} Hz must lie within 0-{sample_rate / 2} Hz")

    def to_mel(hz):
        return 2595.0 * torch.log10(1.0 + hz / 700.0)

    def to_hz(mel):
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)

    edges = to_hz(
        torch.linspace(to_mel(torch.tensor(min_hz)), to_mel(torch.tensor(max_hz)), num_mels + 2)
    )
    bins = torch.linspace(0, sample_rate / 2, fft_size // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - lower) / (centre - lower)
    falling = (upper - bins) / (upper - centre)
    return torch.clamp(torch.minimum(rising, falling), min=0.0)


class LogMel(nn.Module):
    """Waveform ``(batch, samples)`` -> log-mel ``(batch, num_mels, frames)`` (natural log)."""

    def __init__(
        self,
        sample_rate: int,
        fft_size: int = 2048,
        hop_size: int = 1024,
        num_mels: int = 64,
        min_hz: float = 30.0,
        max_hz: float = 16000.0,
    ):
        super().__init__()
        self.fft_size = fft_size
        self.hop_size = hop_size
        self.register_buffer("window", torch.hann_window(fft_size), persistent=False)
        self.register_buffer(
            "filters",
            mel_filterbank(sample_rate, fft_size, num_mels, min_hz, max_hz),
            persistent=False,
        )

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        if audio.shape[-1] < self.fft_size:
            audio = nn.functional.pad(audio, (0, self.fft_size - audio.shape[-1]))
        spec = torch.stft(
            audio,
            self.fft_size,
            self.hop_size,
            window=self.window,
            center=True,
            pad_mode="constant",
            return_complex=True,
        )
        power = spec.real**2 + spec.imag**2
        return torch.log(self.filters @ power + 1e-8)


def level_features(mean_square: torch.Tensor, peak: torch.Tensor) -> torch.Tensor:
    """The three scaled level features from a track's mean square and absolute peak, ``(..., 3)``."""
    floor = 10.0 ** (LEVEL_FLOOR_DB / 10.0)
    rms_db = 10.0 * torch.log10(mean_square.clamp_min(floor))
    peak_db = 20.0 * torch.log10(peak.clamp_min(math.sqrt(floor)))
    crest_db = (peak_db - rms_db).clamp_min(0.0)
    return torch.stack(
        [(rms_db + 30.0) / 20.0, (peak_db + 10.0) / 20.0, (crest_db - 15.0) / 10.0], dim=-1
    )


@register_model
class TrackEncoder(nn.Module):
    """Log-mel CNN giving one fixed-size embedding per mono track.

    Args:
        embedding_dim (int): size of the learnt (time-averaged) embedding. Default: 64.
        channels (list of int): conv channels of the 3x3 conv blocks, each followed by
            BatchNorm, ReLU and 2x2 max-pooling. Default: ``[16, 32, 64, 64]``.
        num_mels (int): mel bands of the front end. Default: 64.
        fft_size (int), hop_size (int): STFT of the front end in samples. Default: 2048, 1024.
        num_roles (int): classes of the pre-training head. Default: ``len(ROLES)``.
        level_features (bool): append the three level features. Default: True.
        sample_rate (int): input rate (Hz). Default: 44100.

    Shape:
        ``(batch, samples)`` -> ``(batch, output_dim)`` where ``output_dim = embedding_dim + 3``.
    """

    def __init__(
        self,
        embedding_dim: int = 64,
        channels: Sequence[int] = (16, 32, 64, 64),
        num_mels: int = 64,
        fft_size: int = 2048,
        hop_size: int = 1024,
        num_roles: int = len(ROLES),
        level_features: bool = True,
        sample_rate: int = SAMPLE_RATE,
    ):
        super().__init__()
        self.sample_rate = sample_rate
        self.embedding_dim = embedding_dim
        self.use_level_features = level_features
        self.frontend = LogMel(sample_rate, fft_size, hop_size, num_mels)
        self.input_norm = nn.BatchNorm2d(1)
        blocks: list[nn.Module] = []
        width = 1
        for out in channels:
            blocks += [
                nn.Conv2d(width, out, 3, padding=1, bias=False),
                nn.BatchNorm2d(out),
                nn.ReLU(),
                nn.MaxPool2d(2, ceil_mode=True),
            ]
            width = out
        self.cnn = nn.Sequential(*blocks)
        self.project = nn.Sequential(nn.Linear(width, embedding_dim), nn.ReLU())
        self.classifier = nn.Linear(embedding_dim, num_roles)

    @property
    def output_dim(self) -> int:
        return self.embedding_dim + (NUM_LEVEL_FEATURES if self.use_level_features else 0)

    def frame_embeddings(self, audio: torch.Tensor) -> torch.Tensor:
        """Per-frame embeddings ``(batch, frames, embedding_dim)``; their mean is the content embedding."""
        x = self.input_norm(self.frontend(audio).unsqueeze(1))
        x = self.cnn(x).mean(dim=2)  # average over (pooled) frequency: (batch, channels, frames)
        return self.project(x.transpose(1, 2))

    def content_embedding(self, audio: torch.Tensor) -> torch.Tensor:
        return self.frame_embeddings(audio).mean(dim=1)

    def logits(self, audio: torch.Tensor) -> torch.Tensor:
        """Role logits ``(batch, num_roles)`` of the pre-training task."""
        return self.classifier(self.content_embedding(audio))

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        if audio.dim() != 2:
            raise ValueError(f"TrackEncoder expects (batch, samples), got {tuple(audio.shape)}")
        embedding = self.content_embedding(audio)
        if not self.use_level_features:
            return embedding
        levels = level_features(audio.pow(2).mean(dim=-1), audio.abs().amax(dim=-1))
        return torch.cat([embedding, levels.to(embedding.dtype)], dim=-1)
