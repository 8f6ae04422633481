"""From a raw mix to the file a listener hears, and the numbers that describe it.

One pure function, :func:`finish_condition`, so the renderer can run it in worker
processes while the main process mixes the next passage: normalise to the target
loudness under the peak policy, encode VBR MP3 (atomically), decode it again and
measure what was actually written, and score the mix against the target.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dmc.audio import decode_mp3, encode_mp3, integrated_loudness, normalize_loudness, true_peak_db
from dmc.contracts.files import file_sha256
from dmc.contracts.policies import LoudnessPolicy
from dmc.metrics import all_metrics

#: Above this true peak (dBTP) at the target loudness a mix is limited (to the -1 dBTP
#: ceiling, keeping its loudness) rather than risk clipping in the MP3 encoder; between
#: the ceiling and this guard it is kept as it is and reported (``peak_over_ceiling``).
CLIP_GUARD_DBTP = -0.5


class FinishError(ValueError):
    """A mix cannot be turned into a stimulus (silent, wrong length); one-line message."""


def normalized_reference(
    target: np.ndarray, sample_rate: int, loudness: LoudnessPolicy
) -> np.ndarray:
    """The target at the render's loudness: what every method is scored against."""
    audio, _ = normalize_loudness(target, sample_rate, loudness.target_lufs)
    return audio


def finish_condition(
    audio: np.ndarray,
    sample_rate: int,
    path: Path,
    loudness: LoudnessPolicy,
    reference: np.ndarray | None,
    other_views: list[np.ndarray] | tuple = (),
) -> dict[str, Any]:
    """Normalise, encode to ``path``, decode and measure; score against ``reference`` if given.

    Metrics compare the normalised mix before encoding with the normalised target: they
    describe the mixing method, not the codec (every condition is encoded alike).
    ``other_views`` are equally valid pictures of the reference (the drum kit seen from
    the other side; see :func:`dmc.metrics.stereo_image_metrics`).

    Returns:
        the :class:`dmc.contracts.manifest.Condition` fields ``sha256``, ``loudness_lufs``,
        ``true_peak_dbtp``, ``duration_seconds``, ``peak_over_ceiling``, and ``extra``
        (``limited``, ``sample_rate``, ``metrics``, ``finish_seconds``).

    Raises:
        FinishError: the mix is silent or the decoded file has the wrong length.
    """
    started = time.perf_counter()
    try:
        normalized, report = normalize_loudness(
            audio, sample_rate, loudness.target_lufs, loudness.max_true_peak_dbtp
        )
        if report.true_peak_dbtp > CLIP_GUARD_DBTP:
            normalized, report = normalize_loudness(
                audio,
                sample_rate,
                loudness.target_lufs,
                loudness.max_true_peak_dbtp,
                peak_policy="limit",
            )
    except ValueError as exc:
        raise FinishError(str(exc)) from None
    encode_mp3(path, normalized, sample_rate, vbr_quality=loudness.vbr_quality)
    decoded, decoded_rate = decode_mp3(path)
    if decoded.shape[1] != audio.shape[1] or decoded_rate != sample_rate:
        raise FinishError(
            f"the decoded MP3 has {decoded.shape[1]} samples at {decoded_rate} Hz, "
            f"expected {audio.shape[1]} at {sample_rate} Hz"
        )
    peak = true_peak_db(decoded, decoded_rate)
    with torch_threads(1):  # small STFTs: extra threads only spin against the other workers
        metrics = (
            None
            if reference is None
            else all_metrics(normalized, reference, sample_rate, other_views)
        )
    return {
        "sha256": file_sha256(path),
        "loudness_lufs": integrated_loudness(decoded, decoded_rate),
        "true_peak_dbtp": peak,
        "duration_seconds": decoded.shape[1] / decoded_rate,
        "peak_over_ceiling": bool(peak > loudness.max_true_peak_dbtp),
        "extra": {
            "limited": report.limited,
            "sample_rate": decoded_rate,
            "metrics": metrics,
            "finish_seconds": round(time.perf_counter() - started, 4),
        },
    }


@contextlib.contextmanager
def torch_threads(count: int):
    """Run a block with ``count`` torch intra-op threads, then restore the previous number."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
