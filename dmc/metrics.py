"""Objective metrics: how far a stereo mix is from the target mix.

Listening tests are slow and small, so every rendered passage is also scored against
its target with the measures later automatic-mixing work reports (see
``docs/render.md``, "Objective metrics"):

- the stereo sum/difference multi-resolution STFT distance the console is trained
  with (Steinmetz et al. 2021), after matching the mix's loudness to the target's,
  so a mix is not punished for a level the listening test normalises away anyway;
- feature errors, each in the feature's own unit so a number can be read on its own:
  loudness (LU) and true peak (dB); spectral centroid, bandwidth and roll-off (Hz),
  contrast (dB) and flatness (0-1); stereo panning (the Avendano-Jot panning index,
  -1 left .. +1 right) overall and in the bands 0-250, 250-2500 and 2500+ Hz; and
  dynamics: short-term RMS level (dB), crest factor (dB) and dynamic spread (dB);
- the stereo image: the mix's R-L level (dB, a signed description, not an error), and
  mirror-invariant balance and panning errors, because a drum mix is made from the
  drummer's or the audience's view and a mix mirrored as a whole is as good; and the
  same errors against every equally valid view of the target, for a band whose drum
  kit may be pictured from either side whatever side the keys are on
  (:func:`stereo_image_metrics`, ``other_views``).

Every function takes ``(estimate, target, sample_rate)`` with float ``(2, samples)``
arrays (mono is accepted and treated as centred), trims silence at both ends, and
raises a ``ValueError`` that names the problem for bad input. Smaller is better for all
but ``rl_level_db``.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence

import numpy as np
import torch

from dmc.audio import (
    SILENCE_LUFS,
    db_to_gain,
    gain_to_db,
    integrated_loudness,
    power_to_db,
    true_peak_db,
)

#: Frame length of the feature STFTs: 2048 samples at 44.1 kHz (the nearest power of two
#: at other rates), hop half a frame.
FRAME_SECONDS = 2048 / 44100
#: FFT and hop sizes of the sum/difference MR-STFT distance (the console's loss).
DEFAULT_FFT_SIZES = (4096, 1024, 256)
DEFAULT_HOP_SIZES = (2048, 512, 128)
#: Panning bands (Hz); ``None`` is the Nyquist frequency.
PANNING_BANDS_HZ = {"low": (0.0, 250.0), "mid": (250.0, 2500.0), "high": (2500.0, None)}
#: Octave band edges (Hz) of the spectral contrast, as in librosa's default.
CONTRAST_EDGES_HZ = (0.0, 200.0, 400.0, 800.0, 1600.0, 3200.0, 6400.0)
#: Frames quieter than this (dBFS RMS) in either signal are left out of frame-wise errors.
SILENCE_DB = -60.0
#: A channel's energy is floored at this fraction of both channels' energy (-60 dB), so the
#: R-L level of a hard-panned or empty band is finite (at most +-60 dB; 0 dB when empty).
RL_FLOOR = 1e-6

#: The columns :func:`all_metrics` returns, in this order.
METRIC_NAMES = (
    "sd_mrstft",
    "loudness_error_lu",
    "peak_error_db",
    "centroid_error_hz",
    "bandwidth_error_hz",
    "contrast_error_db",
    "rolloff_error_hz",
    "flatness_error",
    "panning_error",
    "panning_error_low",
    "panning_error_mid",
    "panning_error_high",
    "rl_level_db",
    "balance_error_db",
    "balance_error_db_low",
    "balance_error_db_mid",
    "balance_error_db_high",
    "panning_error_mi",
    "panning_error_mi_low",
    "panning_error_mi_mid",
    "panning_error_mi_high",
    "balance_error_db_any_view",
    "balance_error_db_any_view_low",
    "balance_error_db_any_view_mid",
    "balance_error_db_any_view_high",
    "panning_error_any_view",
    "panning_error_any_view_low",
    "panning_error_any_view_mid",
    "panning_error_any_view_high",
    "rms_error_db",
    "crest_factor_error_db",
    "dynamic_spread_error_db",
)


# --------------------------------------------------------------------------- input checks


def _as_stereo(audio, which: str) -> np.ndarray:
    try:
        audio = np.asarray(audio, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{which} must be a numeric array, got {type(audio).__name__}") from None
    if audio.ndim == 1:
        audio = audio[None]
    if audio.ndim != 2 or audio.shape[0] not in (1, 2):
        raise ValueError(f"{which} must be (2, samples) or mono, got shape {audio.shape}")
    if not np.all(np.isfinite(audio)):
        raise ValueError(f"{which} contains NaN or infinite samples")
    return np.repeat(audio, 2, axis=0) if audio.shape[0] == 1 else audio


def _check_pair(
    estimate, target, sample_rate, min_samples: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Validate, make stereo and trim the silence at both ends (where both are silent)."""
    est, tgt, _ = _check_signals(estimate, target, sample_rate, min_samples)
    return est, tgt


def _check_signals(
    estimate, target, sample_rate, min_samples: int = 1, other_views=()
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """:func:`_check_pair`, and ``other_views`` validated like the target and cut as it is."""
    if (
        isinstance(sample_rate, bool)
        or not isinstance(sample_rate, (int, np.integer))
        or sample_rate <= 0
    ):
        raise ValueError(f"sample_rate must be a positive integer (Hz), got {sample_rate!r}")
    est, tgt = _as_stereo(estimate, "estimate"), _as_stereo(target, "target")
    if est.shape[1] == 0:
        raise ValueError("estimate and target are empty")
    if est.shape != tgt.shape:
        raise ValueError(
            f"estimate has {est.shape[1]} samples but target has {tgt.shape[1]}: they must match"
        )
    if isinstance(other_views, np.ndarray) or not isinstance(other_views, Sequence):
        raise ValueError("other_views must be a list of (2, samples) arrays")
    views = [_as_stereo(view, f"other view {i}") for i, view in enumerate(other_views)]
    for i, view in enumerate(views):
        if view.shape != tgt.shape:
            raise ValueError(
                f"other view {i} has shape {view.shape}, the target {tgt.shape}: they must match"
            )
    first, last = _loud_span(est, tgt, int(sample_rate))
    est, tgt = est[:, first:last], tgt[:, first:last]
    if est.shape[1] < min_samples:
        raise ValueError(
            f"signals hold {est.shape[1]} non-silent samples; this metric needs at least {min_samples}"
        )
    return est, tgt, [view[:, first:last] for view in views]


def _loud_span(
    estimate: np.ndarray, target: np.ndarray, sample_rate: int, threshold_db: float = SILENCE_DB
) -> tuple[int, int]:
    """First and end sample of what is left after cutting the leading and trailing 10 ms
    blocks in which both signals are below ``threshold_db``.

    Raises:
        ValueError: both signals are silent throughout.
    """
    block = max(1, sample_rate // 100)
    count = max(1, estimate.shape[-1] // block)
    edges = np.linspace(0, estimate.shape[-1], count + 1).astype(int)
    lengths = np.diff(edges)
    est_power = np.add.reduceat(np.mean(estimate**2, axis=0), edges[:-1]) / lengths
    tgt_power = np.add.reduceat(np.mean(target**2, axis=0), edges[:-1]) / lengths
    loud = _level_db(np.maximum(est_power, tgt_power)) > threshold_db
    if not np.any(loud):
        raise ValueError(f"estimate and target are both silent (below {threshold_db} dBFS)")
    first, last = np.flatnonzero(loud)[[0, -1]]
    return int(edges[first]), int(edges[last + 1])


def _frames(sample_rate: int) -> tuple[int, int]:
    frame = 1 << max(6, round(math.log2(FRAME_SECONDS * sample_rate)))
    return frame, frame // 2


def _stft(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """``(channels, samples)`` -> complex ``(channels, frames, bins)`` and the bin frequencies (Hz)."""
    frame, hop = _frames(sample_rate)
    if audio.shape[-1] < frame:
        audio = np.pad(audio, ((0, 0), (0, frame - audio.shape[-1])))
    count = 1 + (audio.shape[-1] - frame) // hop
    index = np.arange(frame)[None, :] + hop * np.arange(count)[:, None]
    spectrum = np.fft.rfft(audio[:, index] * np.hanning(frame), axis=-1)
    return spectrum, np.fft.rfftfreq(frame, 1.0 / sample_rate)


_level_db = power_to_db


def _active(est_power: np.ndarray, tgt_power: np.ndarray, which: str) -> np.ndarray:
    """Frames where both signals are above :data:`SILENCE_DB` (``power`` is mean-square per frame)."""
    mask = (_level_db(est_power) > SILENCE_DB) & (_level_db(tgt_power) > SILENCE_DB)
    if not np.any(mask):
        raise ValueError(
            f"{which}: no frame where both estimate and target are above {SILENCE_DB} dBFS"
        )
    return mask


# --------------------------------------------------------------------------- MR-STFT


def sum_difference_stft_distance(
    estimate,
    target,
    sample_rate: int,
    fft_sizes: tuple[int, ...] = DEFAULT_FFT_SIZES,
    hop_sizes: tuple[int, ...] = DEFAULT_HOP_SIZES,
    loudness_match: bool = True,
) -> float:
    """Stereo sum/difference multi-resolution STFT distance (spectral convergence + log magnitude).

    The console's training loss (Steinmetz et al. 2021; ``dmc.losses``): the MR-STFT
    distance of the mid (L+R) signals plus that of the side (L-R) signals, halved.
    The side term makes a centred mono mix of a wide target score badly, and both
    terms ignore a left/right swap. With ``loudness_match`` the estimate is first scaled
    to the target's integrated loudness.

    Raises:
        ValueError: bad shapes or sample rate, unequal lengths, a silent estimate,
            mismatched ``fft_sizes``/``hop_sizes``, or signals shorter than the largest FFT.
    """
    if len(fft_sizes) != len(hop_sizes) or not fft_sizes:
        raise ValueError(
            f"fft_sizes {fft_sizes} and hop_sizes {hop_sizes} must be non-empty and equally long"
        )
    est, tgt = _check_pair(estimate, target, sample_rate, min_samples=max(fft_sizes))
    return _sd_mrstft(est, tgt, sample_rate, fft_sizes, hop_sizes, loudness_match)


@functools.lru_cache(maxsize=4)
def _sum_difference_loss(fft_sizes: tuple[int, ...], hop_sizes: tuple[int, ...]):
    from dmc.losses import StereoSumDifferenceLoss  # the console's own training loss

    return StereoSumDifferenceLoss(fft_sizes, hop_sizes)


def _sd_mrstft(
    est,
    tgt,
    sample_rate,
    fft_sizes=DEFAULT_FFT_SIZES,
    hop_sizes=DEFAULT_HOP_SIZES,
    loudness_match=True,
    gap_db: float | None = None,
):
    if loudness_match:
        est = est * db_to_gain(
            _loudness_gap_db(est, tgt, sample_rate) if gap_db is None else gap_db
        )
    loss = _sum_difference_loss(tuple(fft_sizes), tuple(hop_sizes))
    with torch.no_grad():
        value = loss(
            torch.from_numpy(est[None].astype(np.float32)),
            torch.from_numpy(tgt[None].astype(np.float32)),
        )
    return float(value)


def _loudness_gap_db(est: np.ndarray, tgt: np.ndarray, sample_rate: int) -> float:
    est_lufs, tgt_lufs = (
        integrated_loudness(est, sample_rate),
        integrated_loudness(tgt, sample_rate),
    )
    if est_lufs < SILENCE_LUFS:
        raise ValueError("the estimate is silent: its loudness cannot be matched to the target's")
    if tgt_lufs < SILENCE_LUFS:
        raise ValueError("the target is silent: there is nothing to compare against")
    return tgt_lufs - est_lufs


# --------------------------------------------------------------------------- loudness


def loudness_error(estimate, target, sample_rate: int) -> float:
    """Absolute difference of BS.1770 integrated loudness (LU)."""
    return abs(_loudness_gap_db(*_check_pair(estimate, target, sample_rate), sample_rate))


def peak_error(estimate, target, sample_rate: int) -> float:
    """Absolute difference of true peak levels (dB)."""
    return _peak_error(*_check_pair(estimate, target, sample_rate), sample_rate)


def _peak_error(est: np.ndarray, tgt: np.ndarray, sample_rate: int) -> float:
    return abs(
        true_peak_db(est.astype(np.float32), sample_rate)
        - true_peak_db(tgt.astype(np.float32), sample_rate)
    )


# --------------------------------------------------------------------------- spectral


def spectral_features(audio: np.ndarray, sample_rate: int) -> dict[str, np.ndarray]:
    """Frame-wise spectral shape of the mid signal ``(L+R)/2``.

    Returns ``{name: (frames,)}`` for ``centroid_hz``, ``bandwidth_hz`` (magnitude-weighted
    standard deviation around the centroid), ``rolloff_hz`` (85 % of the magnitude sum),
    ``flatness`` (geometric over arithmetic mean of the power, 0-1) and ``power`` (mean
    square of the frame), plus ``contrast_db`` ``(frames, bands)``: per octave band the
    level of the strongest 2 % of bins over the weakest 2 %.
    """
    mid = (
        np.asarray(audio, dtype=np.float64)
        .reshape(-1, np.shape(audio)[-1])
        .mean(axis=0, keepdims=True)
    )
    spectrum, freqs = _stft(mid, sample_rate)
    mag = np.abs(spectrum[0])
    power = mag**2
    total = mag.sum(axis=1) + 1e-12
    centroid = (mag * freqs).sum(axis=1) / total
    bandwidth = np.sqrt((mag * (freqs[None] - centroid[:, None]) ** 2).sum(axis=1) / total)
    cumulative = np.cumsum(mag, axis=1)
    rolloff = freqs[
        np.minimum(np.argmax(cumulative >= 0.85 * cumulative[:, -1:], axis=1), len(freqs) - 1)
    ]
    flatness = np.exp(np.mean(np.log(power + 1e-20), axis=1)) / (np.mean(power, axis=1) + 1e-20)
    edges = [f for f in CONTRAST_EDGES_HZ if f < sample_rate / 2] + [sample_rate / 2 + 1]
    contrast = []
    for low, high in itertools.pairwise(edges):
        band = np.sort(power[:, (freqs >= low) & (freqs < high)], axis=1)
        k = max(1, round(0.02 * band.shape[1]))
        contrast.append(_level_db(band[:, -k:].mean(axis=1)) - _level_db(band[:, :k].mean(axis=1)))
    frame = _frames(sample_rate)[0]
    return {
        "centroid_hz": centroid,
        "bandwidth_hz": bandwidth,
        "rolloff_hz": rolloff,
        "flatness": flatness,
        "contrast_db": np.stack(contrast, axis=1),
        "power": power.sum(axis=1) * 2 / (frame * np.sum(np.hanning(frame) ** 2)),
    }


def spectral_errors(estimate, target, sample_rate: int) -> dict[str, float]:
    """Mean absolute frame-wise differences of the :func:`spectral_features` (non-silent frames).

    Returns ``centroid_error_hz``, ``bandwidth_error_hz``, ``contrast_error_db``,
    ``rolloff_error_hz`` and ``flatness_error``.
    """
    return _spectral_errors(*_check_pair(estimate, target, sample_rate), sample_rate)


def _spectral_errors(est: np.ndarray, tgt: np.ndarray, sample_rate: int) -> dict[str, float]:
    fe, ft = spectral_features(est, sample_rate), spectral_features(tgt, sample_rate)
    mask = _active(fe["power"], ft["power"], "spectral_errors")
    names = {
        "centroid_hz": "centroid_error_hz",
        "bandwidth_hz": "bandwidth_error_hz",
        "contrast_db": "contrast_error_db",
        "rolloff_hz": "rolloff_error_hz",
        "flatness": "flatness_error",
    }
    return {
        error: float(np.mean(np.abs(fe[name][mask] - ft[name][mask])))
        for name, error in names.items()
    }


# --------------------------------------------------------------------------- stereo panning


def panning_spectrum(audio, sample_rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stereo panning spectrum (Avendano and Jot 2004), averaged over time.

    Per time-frequency bin the panning index is ``(1 - psi) * sign(|R| - |L|)`` with the
    similarity ``psi = 2|L||R| / (|L|^2 + |R|^2)``: 0 for a centred source, -1 hard left,
    +1 hard right. A source panned with the constant-power law at ``pan`` has the index
    ``(1 - sin(pi * pan)) * sign(pan - 0.5)``.

    Returns:
        ``(freqs_hz, index, energy)``: per frequency bin the energy-weighted mean index
        over frames and the bin's total energy.
    """
    stereo = _as_stereo(audio, "audio")
    spectrum, freqs = _stft(stereo, sample_rate)
    left, right = np.abs(spectrum[0]), np.abs(spectrum[1])
    energy = left**2 + right**2
    similarity = 2 * left * right / np.maximum(energy, 1e-30)
    index = (1 - similarity) * np.sign(right - left)
    total = energy.sum(axis=0)
    return freqs, (energy * index).sum(axis=0) / np.maximum(total, 1e-30), total


def panning_errors(estimate, target, sample_rate: int) -> dict[str, float]:
    """Mean absolute difference of the time-averaged panning index, overall and per band.

    Bins are weighted by the sum of both signals' energy share, so a bin that holds
    nothing in either mix does not count. Returns ``panning_error`` and
    ``panning_error_low`` / ``_mid`` / ``_high`` (bands in :data:`PANNING_BANDS_HZ`); a
    band above the Nyquist frequency scores 0.
    """
    return _panning_errors(*_check_pair(estimate, target, sample_rate), sample_rate)


def _panning_errors(est: np.ndarray, tgt: np.ndarray, sample_rate: int) -> dict[str, float]:
    freqs, index_est, energy_est = panning_spectrum(est, sample_rate)
    _, index_tgt, energy_tgt = panning_spectrum(tgt, sample_rate)
    if energy_est.sum() <= 0 or energy_tgt.sum() <= 0:
        raise ValueError("panning_errors: the estimate or the target is silent")
    weight = energy_est / energy_est.sum() + energy_tgt / energy_tgt.sum()
    difference = np.abs(index_est - index_tgt)
    out = {"panning_error": float(np.sum(weight * difference) / np.sum(weight))}
    for band, (low, high) in PANNING_BANDS_HZ.items():
        inside = (freqs >= low) & (freqs < (high if high is not None else np.inf))
        w = weight[inside]
        out[f"panning_error_{band}"] = (
            float(np.sum(w * difference[inside]) / w.sum()) if w.sum() > 0 else 0.0
        )
    return out


# --------------------------------------------------------------------------- stereo image


def rl_levels_db(audio, sample_rate: int) -> dict[str, float]:
    """How far a stereo signal leans right: R-L level (dB) over its whole length.

    Energy ratio of the right channel to the left, broadband (from the samples) and per
    band of :data:`PANNING_BANDS_HZ` (from the STFT); positive leans right. A source
    panned with the constant-power law at ``pan`` (0 hard left, 1 hard right) has
    ``20 * log10(tan(pi * pan / 2))``; mono input is centred (0 dB).

    Returns:
        ``{"broadband": dB, "low": dB, "mid": dB, "high": dB}``.
    """
    stereo, _ = _check_pair(audio, audio, sample_rate)  # validation and silence trim of one signal
    return _rl_levels(stereo, sample_rate)


def _rl_db(left_energy: float, right_energy: float) -> float:
    floor = RL_FLOOR * (left_energy + right_energy) + 1e-30
    return float(10 * np.log10((right_energy + floor) / (left_energy + floor)))


def _rl_levels(stereo: np.ndarray, sample_rate: int) -> dict[str, float]:
    energy = np.sum(stereo**2, axis=1)
    out = {"broadband": _rl_db(energy[0], energy[1])}
    spectrum, freqs = _stft(stereo, sample_rate)
    power = np.sum(np.abs(spectrum) ** 2, axis=1)
    for band, (low, high) in PANNING_BANDS_HZ.items():
        inside = (freqs >= low) & (freqs < (high if high is not None else np.inf))
        out[band] = _rl_db(*power[:, inside].sum(axis=1))
    return out


def stereo_image_metrics(
    estimate, target, sample_rate: int, other_views: Sequence = ()
) -> dict[str, float]:
    """The estimate's lean, and balance and panning errors that forgive a mirrored mix.

    The paper's sum/difference loss cannot tell a source panned left from one panned
    right, so a console may put everything off-centre on one side; these numbers show
    that, while a mix mirrored as a whole (drummer's instead of audience's view) scores
    as well as the original. The errors are computed with the estimate as it is and with
    its channels swapped, and every error below is measured in one orientation: the one
    whose panning (the per-bin panning index, which sees where every source sits) is
    closer to the target's; on an exact tie, as for a centred estimate, the one whose
    broadband lean is. The layout decides, not the lean: mixes that lean 0.1 dB either
    way are equally balanced, and a choice by lean compared a console's overhead L with
    the target's overhead R whenever the two leans had opposite signs.

    A band's target is one of several equally good pictures: the drum kit may be seen
    from the drummer's or the audience's side whichever side the keys are on. One mirror
    of the whole mix cannot forgive that, so ``other_views`` takes the other pictures
    (``(2, samples)`` like the target, e.g. :func:`dmc.stereo_image.mirror_drum_kit`) and
    the ``*_any_view`` errors use the view and orientation chosen by the same rule among
    all of them.

    Returns:
        ``rl_level_db``: the estimate's broadband R-L level as it is (see
        :func:`rl_levels_db`; signed, positive leans right); ``balance_error_db`` and
        ``balance_error_db_low`` / ``_mid`` / ``_high``: absolute differences of the R-L
        levels from the target's; ``panning_error_mi`` and ``panning_error_mi_low`` /
        ``_mid`` / ``_high``: :func:`panning_errors` in the chosen orientation;
        ``balance_error_db_any_view*`` and ``panning_error_any_view*``: the same against
        the chosen view (equal to the former without ``other_views``).
    """
    est, tgt, views = _check_signals(estimate, target, sample_rate, other_views=other_views)
    return _stereo_image(est, tgt, sample_rate, views)


def _stereo_image(
    est: np.ndarray, tgt: np.ndarray, sample_rate: int, other_views: Sequence[np.ndarray] = ()
) -> dict[str, float]:
    level_est = _rl_levels(est, sample_rate)
    candidates = []  # (balance per band, panning errors) per view and orientation
    for view in (tgt, *other_views):
        level_view = _rl_levels(view, sample_rate)
        # swapping the channels negates every R-L level
        for sign, audio in ((1.0, est), (-1.0, est[::-1])):
            balance = {band: abs(sign * level_est[band] - level_view[band]) for band in level_est}
            candidates.append((balance, _panning_errors(audio, view, sample_rate)))
    (balance, panning), (any_balance, any_panning) = (
        _closest_layout(candidates[:2]),
        _closest_layout(candidates),
    )
    return {
        "rl_level_db": level_est["broadband"],
        "balance_error_db": balance["broadband"],
        **{f"balance_error_db_{band}": balance[band] for band in PANNING_BANDS_HZ},
        **{
            name.replace("panning_error", "panning_error_mi"): value
            for name, value in panning.items()
        },
        "balance_error_db_any_view": any_balance["broadband"],
        **{f"balance_error_db_any_view_{band}": any_balance[band] for band in PANNING_BANDS_HZ},
        **{
            name.replace("panning_error", "panning_error_any_view"): value
            for name, value in any_panning.items()
        },
    }


def _closest_layout(candidates: list[tuple[dict, dict]]) -> tuple[dict, dict]:
    """The candidate with the smallest overall panning error; among those within 1e-9 of it
    (float rounding, as for a centred estimate, not a layout) the smallest broadband balance error."""
    best = min(panning["panning_error"] for _, panning in candidates)
    tied = [c for c in candidates if c[1]["panning_error"] - best < 1e-9]
    return min(tied, key=lambda c: c[0]["broadband"])


# --------------------------------------------------------------------------- dynamics


def dynamics_features(audio, sample_rate: int) -> dict[str, np.ndarray]:
    """Short-term dynamics of the mid signal.

    Returns ``rms_db`` (100 ms frames, 50 ms hop), ``crest_db`` (peak over RMS in 1 s
    frames, 0.5 s hop; one frame when the signal is shorter) and ``long_rms_db`` (the
    RMS level of those 1 s frames, to find the silent ones), all ``(frames,)``.
    """
    mid = np.asarray(audio, dtype=np.float64).reshape(-1, np.shape(audio)[-1]).mean(axis=0)

    def framed(seconds: float) -> np.ndarray:
        size = max(1, int(seconds * sample_rate))
        if mid.size <= size:
            return mid[None]
        hop = size // 2
        count = 1 + (mid.size - size) // hop
        return mid[np.arange(size)[None, :] + hop * np.arange(count)[:, None]]

    short, long = framed(0.1), framed(1.0)
    long_rms = np.sqrt(np.mean(long**2, axis=1))
    return {
        "rms_db": _level_db(np.mean(short**2, axis=1)),
        "crest_db": gain_to_db(np.max(np.abs(long), axis=1)) - gain_to_db(long_rms),
        "long_rms_db": gain_to_db(long_rms),
    }


def dynamics_errors(estimate, target, sample_rate: int) -> dict[str, float]:
    """Errors of short-term level, crest factor and dynamic spread (all dB).

    ``rms_error_db`` and ``crest_factor_error_db`` are mean absolute frame-wise
    differences over frames where both signals are above :data:`SILENCE_DB`;
    ``dynamic_spread_error_db`` compares the dynamic spread of the two signals: the mean
    absolute deviation of the short-term RMS level (dB) around its mean.
    """
    return _dynamics_errors(*_check_pair(estimate, target, sample_rate), sample_rate)


def _dynamics_errors(est: np.ndarray, tgt: np.ndarray, sample_rate: int) -> dict[str, float]:
    fe, ft = dynamics_features(est, sample_rate), dynamics_features(tgt, sample_rate)
    mask = _active(db_to_gain(fe["rms_db"]) ** 2, db_to_gain(ft["rms_db"]) ** 2, "dynamics_errors")
    crest_mask = _active(
        db_to_gain(fe["long_rms_db"]) ** 2, db_to_gain(ft["long_rms_db"]) ** 2, "dynamics_errors"
    )

    def spread(levels: np.ndarray) -> float:
        return float(np.mean(np.abs(levels - levels.mean())))

    return {
        "rms_error_db": float(np.mean(np.abs(fe["rms_db"][mask] - ft["rms_db"][mask]))),
        "crest_factor_error_db": float(
            np.mean(np.abs(fe["crest_db"][crest_mask] - ft["crest_db"][crest_mask]))
        ),
        "dynamic_spread_error_db": abs(spread(fe["rms_db"][mask]) - spread(ft["rms_db"][mask])),
    }


# --------------------------------------------------------------------------- everything


def all_metrics(estimate, target, sample_rate: int, other_views: Sequence = ()) -> dict[str, float]:
    """Every metric of this module, keyed and ordered as :data:`METRIC_NAMES`.

    ``other_views``: equally valid pictures of the target, for the ``*_any_view`` errors
    (see :func:`stereo_image_metrics`).
    """
    est, tgt, views = _check_signals(
        estimate, target, sample_rate, max(DEFAULT_FFT_SIZES), other_views
    )
    gap_db = _loudness_gap_db(est, tgt, sample_rate)
    out = {
        "sd_mrstft": _sd_mrstft(est, tgt, sample_rate, gap_db=gap_db),
        "loudness_error_lu": abs(gap_db),
        "peak_error_db": _peak_error(est, tgt, sample_rate),
        **_spectral_errors(est, tgt, sample_rate),
        **_panning_errors(est, tgt, sample_rate),
        **_stereo_image(est, tgt, sample_rate, views),
        **_dynamics_errors(est, tgt, sample_rate),
    }
    return {name: out[name] for name in METRIC_NAMES}
