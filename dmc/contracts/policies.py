"""Policies a whole listening test shares, stored once with it: how loud and how encoded.

Every stimulus of a test is normalised to one integrated loudness under one true-peak
ceiling and encoded one way, so listeners compare mixing, not level (louder is rated
better) or codec. The policy is chosen when a test set is rendered
(``python -m dmc.render testset --lufs``), stored in its manifest, and read from there
by everything that adds to or plays the test: imports of other systems, the web app's
calibration sound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

#: EBU R128 programme loudness, the level of the paper's listening samples (LUFS).
DEFAULT_TARGET_LUFS = -23.0
#: The true-peak ceiling (dBTP) a normalised stimulus must stay under.
DEFAULT_MAX_TRUE_PEAK_DBTP = -1.0
#: LAME's VBR quality (``-V``): 0 best to 9 smallest; 2 is about 170-210 kbps for music.
DEFAULT_VBR_QUALITY = 2
ENCODER_FORMAT = "mp3"


@dataclass(frozen=True)
class LoudnessPolicy:
    """Level and encoding of every stimulus of a test.

    Args:
        target_lufs: integrated loudness of every stimulus (LUFS, -70 to 0). Default -23.
        max_true_peak_dbtp: true-peak ceiling after normalisation (dBTP, at most 0).
            Default -1.
        vbr_quality: LAME VBR quality of the MP3s, 0-9. Default 2.
    """

    target_lufs: float = DEFAULT_TARGET_LUFS
    max_true_peak_dbtp: float = DEFAULT_MAX_TRUE_PEAK_DBTP
    vbr_quality: int = DEFAULT_VBR_QUALITY

    def __post_init__(self) -> None:
        if not (isinstance(self.target_lufs, (int, float)) and math.isfinite(self.target_lufs)):
            raise ValueError(f"target_lufs must be a finite number, got {self.target_lufs!r}")
        if not -70.0 <= self.target_lufs <= 0.0:
            raise ValueError(f"target_lufs must lie between -70 and 0 LUFS, got {self.target_lufs}")
        if not (
            isinstance(self.max_true_peak_dbtp, (int, float))
            and math.isfinite(self.max_true_peak_dbtp)
            and self.max_true_peak_dbtp <= 0.0
        ):
            raise ValueError(
                f"max_true_peak_dbtp must be a finite number at most 0 dBTP, got {self.max_true_peak_dbtp!r}"
            )
        if isinstance(self.vbr_quality, bool) or self.vbr_quality not in range(10):
            raise ValueError(f"vbr_quality must be an integer 0-9, got {self.vbr_quality!r}")

    def key(self) -> dict[str, Any]:
        """What decides the audio of a stimulus: hashed into each condition's up-to-date check."""
        return {
            "target_lufs": float(self.target_lufs),
            "max_true_peak_dbtp": float(self.max_true_peak_dbtp),
            "vbr_quality": int(self.vbr_quality),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "target_lufs": float(self.target_lufs),
            "max_true_peak_dbtp": float(self.max_true_peak_dbtp),
            "encoder": {
                "format": ENCODER_FORMAT,
                "bitrate": "vbr",
                "vbr_quality": self.vbr_quality,
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoudnessPolicy:
        """The policy a manifest stores; raises ValueError naming a bad or missing field."""
        if not isinstance(data, dict):
            raise ValueError(f"a loudness policy is an object, got {data!r}")
        encoder = data.get("encoder", {})
        if not isinstance(encoder, dict) or encoder.get("format", ENCODER_FORMAT) != ENCODER_FORMAT:
            raise ValueError(
                f"unsupported encoder {encoder!r}; this version writes {ENCODER_FORMAT}"
            )
        try:
            return cls(
                target_lufs=float(data["target_lufs"]),
                max_true_peak_dbtp=float(
                    data.get("max_true_peak_dbtp", DEFAULT_MAX_TRUE_PEAK_DBTP)
                ),
                vbr_quality=int(encoder.get("vbr_quality", DEFAULT_VBR_QUALITY)),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"loudness policy {data!r}: {exc}") from None
