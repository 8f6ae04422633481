"""Training and evaluation losses, built on auraloss's STFT losses.

Two objectives:

- :class:`StereoSumDifferenceLoss` trains the console: multi-resolution STFT distances
  of the sum (L+R) and the difference (L-R) of mix and target. A plain per-channel loss
  lets a model hedge by centring everything; the difference signal penalises wrong
  panning, and its magnitude does not change when left and right are swapped.
  See [Steinmetz et al., 2021](https://arxiv.org/abs/2010.10291).
- :class:`SwapInvariantStereoLoss` is an optional extra term for the console: the
  multi-resolution STFT distance of the left and of the right channel, taken with the
  mix's channels as they are or swapped, whichever is closer. The magnitude of L-R is
  the same whether a source sits left or right, so the sum/difference loss alone cannot
  tell a mix with every side element on one side from a balanced one; this term can,
  while still accepting a mirror image of the whole mix (drummer's or audience's view).
- :class:`ReferencePanLoss` is an optional term on the console's parameters: each
  track's pan against where the target mix put it (estimated from the tracks and the
  mix by :func:`dmc.stereo_image.estimate_pans`), again accepting a mirror image. Audio
  features of the whole mix can be matched by a one-sided layout with a counter-weight;
  a per-track term cannot.
- :class:`EmulationLoss` pre-trains the TCN: a mono multi-resolution STFT distance
  plus an L1 distance of the waveforms (the time term keeps the phase honest, which a
  magnitude-only loss ignores).

Both use spectral convergence + log magnitude per resolution, as auraloss defines them.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import auraloss
import torch
from torch import nn

#: The reference resolutions of the console loss (Hann windows as long as the FFT).
FFT_SIZES = (4096, 1024, 256)
HOP_SIZES = (2048, 512, 128)


def _check_resolutions(fft_sizes: Sequence[int], hop_sizes: Sequence[int]) -> None:
    if len(fft_sizes) != len(hop_sizes) or not fft_sizes:
        raise ValueError(
            f"need one hop size per FFT size, got {list(fft_sizes)} and {list(hop_sizes)}"
        )
    for fft, hop in zip(fft_sizes, hop_sizes):
        if not 0 < hop <= fft:
            raise ValueError(f"hop size {hop} must be in (0, {fft}] for FFT size {fft}")


def _check_stereo(input: torch.Tensor, target: torch.Tensor) -> None:
    if input.shape != target.shape or input.dim() != 3 or input.shape[1] != 2:
        raise ValueError(
            f"expected stereo (batch, 2, samples) input and target of one shape, "
            f"got {tuple(input.shape)} and {tuple(target.shape)}"
        )


class StereoSumDifferenceLoss(nn.Module):
    """Multi-resolution STFT loss on the sum and difference of stereo signals.

    ``loss = (w_sum * MRSTFT(L+R) + w_diff * MRSTFT(L-R)) / 2``.

    Args:
        fft_sizes (list of int, optional): FFT sizes in samples. Default: ``[4096, 1024, 256]``.
        hop_sizes (list of int, optional): hop sizes in samples. Default: ``[2048, 512, 128]``.
        w_sum (float, optional): weight of the sum (mid) term. Default: 1.0
        w_diff (float, optional): weight of the difference (side) term. Default: 1.0

    Shape:
        input, target ``(batch, 2, samples)`` with ``samples`` > ``max(fft_sizes) / 2`` -> scalar.
    """

    def __init__(
        self,
        fft_sizes: Sequence[int] = FFT_SIZES,
        hop_sizes: Sequence[int] = HOP_SIZES,
        w_sum: float = 1.0,
        w_diff: float = 1.0,
    ):
        super().__init__()
        _check_resolutions(fft_sizes, hop_sizes)
        self.min_samples = max(fft_sizes) // 2 + 1
        self.loss = auraloss.freq.SumAndDifferenceSTFTLoss(
            fft_sizes=list(fft_sizes),
            hop_sizes=list(hop_sizes),
            win_lengths=list(fft_sizes),
            w_sum=w_sum,
            w_diff=w_diff,
        )

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_stereo(input, target)
        if input.shape[-1] < self.min_samples:
            raise ValueError(
                f"signals of {input.shape[-1]} samples are shorter than the {self.min_samples} "
                f"the largest FFT needs"
            )
        return self.loss(input.float(), target.float())


class SwapInvariantStereoLoss(nn.Module):
    """Per-channel MR-STFT distance, minimised per item over a left/right swap of ``input``.

    ``loss = mean_b min(D(L, L') + D(R, R'), D(L, R') + D(R, L')) / 2`` with ``D`` the
    multi-resolution STFT distance and primes marking the target.

    Args:
        fft_sizes (list of int, optional): Default: ``[4096, 1024, 256]``.
        hop_sizes (list of int, optional): Default: ``[2048, 512, 128]``.

    Shape:
        input, target ``(batch, 2, samples)`` -> scalar.
    """

    def __init__(self, fft_sizes: Sequence[int] = FFT_SIZES, hop_sizes: Sequence[int] = HOP_SIZES):
        super().__init__()
        _check_resolutions(fft_sizes, hop_sizes)
        self.stft = auraloss.freq.MultiResolutionSTFTLoss(
            fft_sizes=list(fft_sizes), hop_sizes=list(hop_sizes), win_lengths=list(fft_sizes)
        )

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_stereo(input, target)
        input, target = input.float(), target.float()
        per_item = []
        for mix, ref in zip(input, target):
            d = [
                [self.stft(mix[i, None, None], ref[j, None, None]) for j in (0, 1)] for i in (0, 1)
            ]
            per_item.append(torch.minimum(d[0][0] + d[1][1], d[0][1] + d[1][0]) / 2)
        return torch.stack(per_item).mean()


def band_balance_db(
    stereo: torch.Tensor, band_bins: torch.Tensor, fft_size: int, hop_size: int, chunks: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """R-L level per band and time chunk, and each cell's level, both in dB.

    Args:
        stereo: ``(batch, 2, samples)``.
        band_bins: ``(bands, bins)`` 0/1 matrix assigning STFT bins to bands.
        chunks: equal time chunks the signal is cut into (1: the whole signal).

    Returns:
        ``(balance_db, level_db)``, each ``(batch, bands, chunks)``.
    """
    batch, _, samples = stereo.shape
    window = torch.hann_window(fft_size, device=stereo.device, dtype=stereo.dtype)
    spectrum = torch.stft(
        stereo.reshape(batch * 2, samples), fft_size, hop_size, window=window, return_complex=True
    )
    power = spectrum.real.square() + spectrum.imag.square()  # (batch*2, bins, frames)
    frames = power.shape[-1] - power.shape[-1] % chunks
    power = power[..., :frames].reshape(batch, 2, power.shape[1], chunks, -1).sum(dim=-1)
    bands = torch.einsum(
        "kf,bcfn->bckn", band_bins.to(power.dtype), power
    )  # (batch, 2, bands, chunks)
    floor = 1e-10 * bands.sum(dim=(1, 2, 3), keepdim=True).clamp_min(1e-20)
    left, right = bands[:, 0] + floor[:, 0], bands[:, 1] + floor[:, 0]
    return 10 * torch.log10(right / left), 10 * torch.log10(left + right)


class StereoBalanceLoss(nn.Module):
    """Mirror-invariant distance of the per-band left/right balance, in units of ``scale_db``.

    The sum/difference loss compares |L+R| and |L-R|, which are the same whether a
    source sits left or right, so it cannot ask for a balanced mix. This term can: per
    octave band (and per time chunk, so that instruments taking turns in a band are
    seen apart) it compares the level of R relative to L of the mix with the target's,
    ``|balance_mix - balance_target|`` in dB, weighted by how much the target holds in
    that cell. Like the targets (drums are mixed from the drummer's or the audience's
    view), it accepts a mix mirrored as a whole: per item it takes the smaller of the
    distances of the mix and of its mirror image. Later mixing-style-transfer work uses
    such per-band stereo balance features in its losses; this is this project's form.

    Args:
        sample_rate (int): Hz. Default: 44100.
        fft_size, hop_size (int): STFT in samples. Default: 2048, 512.
        low_hz, high_hz (float): the octave bands' range. Default: 62.5, 16000.
        chunks (int): time chunks per item. Default: 4.
        broadband_weight (float): weight of the whole-band balance (the mix's overall
            lean) relative to one octave band's. Default: 4.
        range_db (float): cells more than this below the target's loudest cell do not
            count; weights rise linearly over the 20 dB above that. Default: 50.
        scale_db (float): dB of balance error that cost 1. Default: 6.

    Shape:
        input, target ``(batch, 2, samples)`` -> scalar.
    """

    def __init__(
        self,
        sample_rate: int = 44100,
        fft_size: int = 2048,
        hop_size: int = 512,
        low_hz: float = 62.5,
        high_hz: float = 16000.0,
        chunks: int = 4,
        broadband_weight: float = 4.0,
        range_db: float = 50.0,
        scale_db: float = 6.0,
    ):
        super().__init__()
        if not 0 < low_hz < high_hz <= sample_rate / 2:
            raise ValueError(
                f"need 0 < low_hz < high_hz <= {sample_rate / 2}, got {low_hz}, {high_hz}"
            )
        if chunks < 1 or scale_db <= 0 or range_db <= 20 or broadband_weight < 0:
            raise ValueError(
                "chunks must be >= 1, scale_db > 0, range_db > 20 and broadband_weight >= 0, got "
                f"{chunks}, {scale_db}, {range_db}, {broadband_weight}"
            )
        _check_resolutions([fft_size], [hop_size])
        edges = [low_hz]
        while edges[-1] * 2 <= high_hz * 1.001:
            edges.append(edges[-1] * 2)
        freqs = torch.fft.rfftfreq(fft_size, 1.0 / sample_rate)
        bins = [(freqs >= lo) & (freqs < hi) for lo, hi in itertools.pairwise(edges)]
        bins.append((freqs >= edges[0]) & (freqs < edges[-1]))  # the whole range: overall lean
        self.register_buffer("band_bins", torch.stack(bins).float(), persistent=False)
        band_weight = torch.ones(len(bins))
        band_weight[-1] = broadband_weight
        self.register_buffer("band_weight", band_weight[:, None], persistent=False)
        self.fft_size, self.hop_size, self.chunks = fft_size, hop_size, chunks
        self.range_db, self.scale_db = range_db, scale_db

    @property
    def num_bands(self) -> int:
        """Octave bands (the whole-range row not counted)."""
        return self.band_bins.shape[0] - 1

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_stereo(input, target)
        min_samples = self.fft_size * self.chunks
        if input.shape[-1] < min_samples:
            raise ValueError(
                f"signals of {input.shape[-1]} samples are shorter than the {min_samples} "
                f"that {self.chunks} chunks of FFT size {self.fft_size} need"
            )
        args = (self.band_bins, self.fft_size, self.hop_size, self.chunks)
        mix_balance, _ = band_balance_db(input.float(), *args)
        with torch.no_grad():
            target_balance, target_level = band_balance_db(target.float(), *args)
            loudest = target_level.amax(dim=(1, 2), keepdim=True)
            weight = ((target_level - loudest + self.range_db) / 20.0).clamp(0.0, 1.0)
            weight = weight * self.band_weight
            weight = weight / weight.sum(dim=(1, 2), keepdim=True).clamp_min(1e-8)
        error = [
            ((sign * mix_balance - target_balance).abs() * weight).sum(dim=(1, 2))
            for sign in (1.0, -1.0)  # a mirrored mix negates every balance
        ]
        return torch.minimum(*error).mean() / self.scale_db


class ConsoleLoss(nn.Module):
    """The console's training objective: the paper's sum/difference loss plus optional stereo-image terms.

    ``loss = sum_difference + w_balance * StereoBalanceLoss + w_stereo * SwapInvariantStereoLoss``;
    a term with weight 0 is not computed (``w_balance = w_stereo = 0`` is the paper's objective).

    Args:
        w_stereo (float, optional): weight of :class:`SwapInvariantStereoLoss`. Default: 0.0
        w_balance (float, optional): weight of :class:`StereoBalanceLoss`. Default: 0.0

    Shape:
        input, target ``(batch, 2, samples)`` -> scalar.
    """

    def __init__(self, w_stereo: float = 0.0, w_balance: float = 0.0):
        super().__init__()
        for name, weight in (("w_stereo", w_stereo), ("w_balance", w_balance)):
            if weight < 0:
                raise ValueError(f"{name} must be non-negative, got {weight}")
        self.w_stereo = w_stereo
        self.w_balance = w_balance
        self.sum_difference = StereoSumDifferenceLoss()
        self.stereo = SwapInvariantStereoLoss()
        self.balance = StereoBalanceLoss()

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = self.sum_difference(input, target)
        if self.w_stereo:
            loss = loss + self.w_stereo * self.stereo(input, target)
        if self.w_balance:
            loss = loss + self.w_balance * self.balance(input, target)
        return loss


class ReferencePanLoss(nn.Module):
    """Mirror-invariant mean distance of each track's pan from its pan in the target mix.

    Per item: ``min(sum w |p - r|, sum w |p - (1 - r)|) / sum w`` with ``p`` the
    console's pans, ``r`` the reference pans (0..1) and ``w`` each track's weight: its
    share of the target's energy over ``full_weight_share``, at most 1, so every audible
    track counts alike (a hi-hat at 2 % of the energy is as easy to hear on the wrong
    side as the bass) and tracks nearly absent from the target hardly count. The
    whole-item mirror is free, as in :class:`StereoBalanceLoss`. Given ``kit`` (which
    tracks belong to the drum kit), the kit's mirror is free on its own too: an engineer
    pictures the kit from the drummer's or the audience's seat whatever side the keys are
    on, so each group takes the nearer of its two pictures (as the ``*_any_view`` metrics
    of :func:`dmc.metrics.stereo_image_metrics` do).

    Args:
        full_weight_share (float): energy share from which a track counts fully. Default: 0.01.

    Shape:
        pans, reference, shares and the optional kit ``(batch, tracks)`` (padded tracks:
        share 0) -> scalar.
    """

    def __init__(self, full_weight_share: float = 0.01):
        super().__init__()
        if full_weight_share <= 0:
            raise ValueError(f"full_weight_share must be positive, got {full_weight_share}")
        self.full_weight_share = full_weight_share

    def forward(
        self,
        pans: torch.Tensor,
        reference: torch.Tensor,
        shares: torch.Tensor,
        kit: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if not pans.shape == reference.shape == shares.shape or pans.ndim != 2:
            raise ValueError(
                "need pans, reference and shares of one shape (batch, tracks), got "
                f"{tuple(pans.shape)}, {tuple(reference.shape)}, {tuple(shares.shape)}"
            )
        if kit is not None and kit.shape != pans.shape:
            raise ValueError(
                f"kit must be (batch, tracks) {tuple(pans.shape)}, got {tuple(kit.shape)}"
            )
        reference = reference.to(pans.dtype)
        weight = (shares.to(pans.dtype) / self.full_weight_share).clamp(0.0, 1.0)
        total = weight.sum(dim=1).clamp_min(1e-8)
        if kit is None:
            groups = [weight]
        else:
            in_kit = kit.to(pans.dtype)
            groups = [weight * in_kit, weight * (1 - in_kit)]
        error = 0.0
        for group in groups:  # each group takes the nearer of the reference and its mirror
            error = error + torch.minimum(
                *[((pans - side).abs() * group).sum(dim=1) for side in (reference, 1 - reference)]
            )
        return (error / total).mean()


class EmulationLoss(nn.Module):
    """Mono MR-STFT + ``w_time`` * L1 waveform distance, for pre-training the TCN.

    Args:
        fft_sizes (list of int, optional): Default: ``[4096, 1024, 256]``.
        hop_sizes (list of int, optional): Default: ``[1024, 256, 64]`` (75 % overlap).
        w_time (float, optional): weight of the L1 term; staged audio sits near -30 dBFS,
            so L1 values are around 0.01 and the default 10 makes the term a fifth or so
            of the loss. Default: 10.0

    Shape:
        input, target ``(batch, 1, samples)`` -> scalar.
    """

    def __init__(
        self,
        fft_sizes: Sequence[int] = FFT_SIZES,
        hop_sizes: Sequence[int] = (1024, 256, 64),
        w_time: float = 10.0,
    ):
        super().__init__()
        _check_resolutions(fft_sizes, hop_sizes)
        self.w_time = w_time
        self.stft = auraloss.freq.MultiResolutionSTFTLoss(
            fft_sizes=list(fft_sizes), hop_sizes=list(hop_sizes), win_lengths=list(fft_sizes)
        )

    def spectral(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The MR-STFT term alone: the emulation error reported beside the baseline."""
        return self.stft(input.float(), target.float())

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if input.shape != target.shape:
            raise ValueError(
                f"input {tuple(input.shape)} and target {tuple(target.shape)} differ in shape"
            )
        time = torch.mean(torch.abs(input.float() - target.float()))
        return self.spectral(input, target) + self.w_time * time


def sum_difference_distance(mix, target, **kwargs) -> float:
    """The console loss between two stereo NumPy arrays ``(2, samples)``, as a float (for evaluation)."""
    loss = StereoSumDifferenceLoss(**kwargs)
    with torch.no_grad():
        value = loss(
            torch.as_tensor(mix, dtype=torch.float32)[None],
            torch.as_tensor(target, dtype=torch.float32)[None],
        )
    return float(value)
