"""Checking what raters send, before anything is stored.

Every rejection is an :class:`InputError` with an HTTP status and a message that names
the offending field and value, so the JSON API answers with a clear 4xx and the pages
can show the same message. Nothing here touches the database: a request that fails
validation cannot store anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from evaluation.design_config import Checks

#: Largest plausible time on one trial (a rater who left the tab open for a day).
MAX_TIME_ON_TRIAL_MS = 24 * 3600 * 1000
MAX_PLAYS = 100_000
MAX_COMMENT_CHARS = 5000
#: A rating counts as "at the top" from here (sliders move in steps of 0.01).
TOP_RATING = 1.0 - 1e-9
#: Play-count key of the open reference.
REFERENCE_KEY = "reference"

ROLE_CHOICES = {
    "mixing_engineer": "Mixing / mastering engineer",
    "producer": "Producer",
    "musician": "Musician",
    "researcher": "Audio researcher",
    "student": "Student (audio / music)",
    "other": "Other",
}
DEVICE_CHOICES = {
    "closed_headphones": "Closed-back headphones",
    "open_headphones": "Open-back headphones",
    "studio_monitors": "Studio monitors",
    "earbuds": "Earbuds / in-ear",
    "laptop_speakers": "Laptop or computer speakers",
    "other": "Other",
}


class InputError(ValueError):
    """A rejected request: ``status`` is the HTTP code, ``field`` the offending field."""

    def __init__(self, message: str, status: int = 400, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": str(self)}
        if self.field:
            out["field"] = self.field
        return out


@dataclass(frozen=True)
class Submission:
    """A parsed trial submission; keys of ``ratings`` and ``plays`` are condition letters."""

    ratings: dict[str, float]
    time_on_trial_ms: int
    plays: dict[str, int]
    comment: str | None


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{field} must be a number, got {value!r}", field=field)
    if not math.isfinite(value):
        raise InputError(f"{field} must be a finite number, got {value!r}", field=field)
    return float(value)


def _count(value: Any, field: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise InputError(
            f"{field} must be a whole number from 0 to {maximum}, got {value!r}", field=field
        )
    return value


def parse_submission(body: Any) -> Submission:
    """Check the shape and ranges of a trial submission (not yet the letters).

    Expected JSON: ``{"ratings": {"A": 0.8, ...}, "time_on_trial_ms": 31000,
    "plays": {"A": 2, ..., "reference": 1}, "comment": "optional"}``.

    Raises:
        InputError: 400 naming the field for anything missing, of the wrong type,
            not finite, or out of range.
    """
    if not isinstance(body, dict):
        raise InputError("the request body must be a JSON object")
    unknown = sorted(set(body) - {"ratings", "time_on_trial_ms", "plays", "comment"})
    if unknown:
        raise InputError(f"unknown field(s): {', '.join(unknown)}", field=unknown[0])
    for name in ("ratings", "time_on_trial_ms", "plays"):
        if name not in body:
            raise InputError(f"missing field {name!r}", field=name)
    if not isinstance(body["ratings"], dict) or not body["ratings"]:
        raise InputError("ratings must be a non-empty object of letter -> rating", field="ratings")
    ratings = {}
    for label, value in body["ratings"].items():
        rating = _number(value, f"ratings.{label}")
        if not 0.0 <= rating <= 1.0:
            raise InputError(
                f"ratings.{label} must be between 0 and 1, got {value!r}", field=f"ratings.{label}"
            )
        ratings[str(label)] = rating
    time_ms = _count(body["time_on_trial_ms"], "time_on_trial_ms", MAX_TIME_ON_TRIAL_MS)
    if not isinstance(body["plays"], dict):
        raise InputError("plays must be an object of letter -> number of plays", field="plays")
    plays = {str(k): _count(v, f"plays.{k}", MAX_PLAYS) for k, v in body["plays"].items()}
    comment = body.get("comment")
    if comment is not None:
        if not isinstance(comment, str):
            raise InputError(f"comment must be text, got {comment!r}", field="comment")
        if len(comment) > MAX_COMMENT_CHARS:
            raise InputError(
                f"comment is longer than {MAX_COMMENT_CHARS} characters", field="comment"
            )
        comment = comment.strip() or None
    return Submission(ratings, time_ms, plays, comment)


def check_against_trial(
    submission: Submission, labels: list[str], has_reference: bool, checks: Checks
) -> None:
    """Check the letters and the test's required checks for one trial.

    Raises:
        InputError: 400 for unknown or missing letters; 422 when a required check
            (every condition played, one rated at the top) is not met.
    """
    expected = set(labels)
    unknown = sorted(set(submission.ratings) - expected)
    if unknown:
        raise InputError(
            f"unknown condition(s) {unknown} in ratings; this trial has {labels}", field="ratings"
        )
    missing = [label for label in labels if label not in submission.ratings]
    if missing:
        raise InputError(f"missing rating(s) for {missing}: rate every condition", field="ratings")
    allowed_plays = expected | ({REFERENCE_KEY} if has_reference else set())
    unknown = sorted(set(submission.plays) - allowed_plays)
    if unknown:
        raise InputError(f"unknown condition(s) {unknown} in plays", field="plays")
    if checks.play_all_before_rating:
        unplayed = [label for label in labels if submission.plays.get(label, 0) < 1]
        if unplayed:
            raise InputError(
                f"condition(s) {unplayed} were never played; play every condition", 422, "plays"
            )
    if checks.one_at_top and max(submission.ratings.values()) < TOP_RATING:
        raise InputError(
            "rate at least one condition at the top of the scale (1.0)", 422, "ratings"
        )


@dataclass(frozen=True)
class Questionnaire:
    experience_years: float
    role: str
    playback_device: str


def parse_questionnaire(form: Any) -> Questionnaire:
    """Check the questionnaire form (years of mixing experience, role, playback device)."""
    raw = (form.get("experience_years") or "").strip()
    try:
        years = float(raw)
    except ValueError:
        raise InputError(
            f"years of mixing experience must be a number, got {raw!r}", field="experience_years"
        ) from None
    if not math.isfinite(years) or not 0 <= years <= 80:
        raise InputError(
            f"years of mixing experience must be between 0 and 80, got {raw!r}",
            field="experience_years",
        )
    role = form.get("role") or ""
    if role not in ROLE_CHOICES:
        raise InputError("choose your role from the list", field="role")
    device = form.get("playback_device") or ""
    if device not in DEVICE_CHOICES:
        raise InputError("choose your playback device from the list", field="playback_device")
    return Questionnaire(years, role, device)
