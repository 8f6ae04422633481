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

from dmc.contracts.scale import DEFAULT_SCALE, RatingScale
from evaluation.design.config import Checks

#: Largest plausible time on one trial (a rater who left the tab open for a day).
MAX_TIME_ON_TRIAL_MS = 24 * 3600 * 1000
MAX_PLAYS = 100_000
MAX_COMMENT_CHARS = 5000
#: Longest ``external_id`` (a crowdsourcing platform's participant id), on every path.
MAX_EXTERNAL_ID_CHARS = 128
#: Longest rater token accepted in a URL; real ones have 22 characters.
MAX_TOKEN_CHARS = 64
#: Play-count key of the open reference.
REFERENCE_KEY = "reference"
#: The in-page level control's range (dB relative to the level set on the volume page).
MIN_LEVEL_DB, MAX_LEVEL_DB = -30.0, 0.0
#: Fields of a trial submission (the last four optional).
SUBMISSION_FIELDS = {
    "ratings",
    "time_on_trial_ms",
    "plays",
    "comment",
    "loop_used",
    "slider_moves",
    "level_db",
}

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
    """A parsed trial submission; keys of ``ratings`` and ``plays`` are condition letters.

    ``ratings`` are normalised to 0-1 (:meth:`dmc.contracts.scale.RatingScale.normalise`),
    as they are stored, whatever scale the rater used.
    """

    ratings: dict[str, float]
    time_on_trial_ms: int
    plays: dict[str, int]
    comment: str | None
    loop_used: bool | None = None
    slider_moves: dict[str, int] | None = None
    level_db: float | None = None

    def same_answer(self, ratings: dict[str, float], comment: str | None) -> bool:
        """Whether this submission carries the given ratings and comment (a resubmission)."""
        return self.comment == comment and all(
            abs(self.ratings.get(label, -1.0) - value) < 1e-9 for label, value in ratings.items()
        )


def _control_characters(text: str, allowed: str) -> list[str]:
    return sorted(
        {
            f"U+{ord(c):04X}"
            for c in text
            if (ord(c) < 32 and c not in allowed) or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF
        }
    )


def check_text(value: Any, field: str, max_chars: int, multiline: bool = True) -> str:
    """Free text from a rater, refused rather than altered when a database could not store it.

    NUL cannot be stored in PostgreSQL text at all and lone surrogates in no UTF-8
    database, so the same text would be a 500 on one back end and silently kept on the
    other. Every database therefore gets the same rule: other control characters and
    surrogates are refused with a 400 naming the field; multi-line text may keep tab,
    line feed and carriage return. Spreadsheet escaping is the export's job.

    Raises:
        InputError: 400 naming ``field`` for non-text, over-long or unstorable text.
    """
    if not isinstance(value, str):
        raise InputError(f"{field} must be text, got {_short(value)}", field=field)
    if len(value) > max_chars:
        raise InputError(
            f"{field} is longer than {max_chars} characters ({len(value)})", field=field
        )
    bad = _control_characters(value, "\t\n\r" if multiline else "")
    if bad:
        raise InputError(
            f"{field} contains control character(s) {', '.join(bad[:5])}; remove them",
            field=field,
        )
    return value


def check_external_id(value: Any) -> str | None:
    """The participant id a platform passes (``external_id``), the same on the API and ``/start``.

    Empty or missing means none. Raises :class:`InputError` (400, field ``external_id``).
    """
    if value is None or value == "":
        return None
    return check_text(value, "external_id", MAX_EXTERNAL_ID_CHARS, multiline=False)


def plausible_token(token: str) -> bool:
    """Whether ``token`` could be a resume token (URL-safe base64, not too long).

    Checked before any query, so a NUL or other junk in a link is an unknown link (404)
    on every database instead of a driver error.
    """
    return 0 < len(token) <= MAX_TOKEN_CHARS and all(c in _TOKEN_CHARS for c in token)


_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _number(value: Any, field: str, span: str) -> float:
    """A finite JSON number; ``span`` ("0 to 1") names the range in the message for a huge one."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{field} must be a number, got {_short(value)}", field=field)
    if isinstance(value, int) and not -(2**53) <= value <= 2**53:
        # math.isfinite would overflow on a 400-digit integer; no rating is that large.
        raise InputError(f"{field} must be a number from {span}, got {_short(value)}", field=field)
    if not math.isfinite(value):
        raise InputError(f"{field} must be a finite number, got {value!r}", field=field)
    return float(value)


def _count(value: Any, field: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise InputError(
            f"{field} must be a whole number from 0 to {maximum}, got {_short(value)}", field=field
        )
    return value


def parse_submission(body: Any, scale: RatingScale = DEFAULT_SCALE) -> Submission:
    """Check the shape and ranges of a trial submission (not yet the letters).

    Ratings are on the test's ``scale`` (0-1 by default) and come back normalised to 0-1.
    Expected JSON: ``{"ratings": {"A": 0.8, ...}, "time_on_trial_ms": 31000,
    "plays": {"A": 2, ..., "reference": 1}, "comment": "optional"}``, optionally with
    ``"loop_used": true``, ``"slider_moves": {"A": 3, ...}`` and ``"level_db": -6.0``
    (what the trial page records besides the ratings).

    Raises:
        InputError: 400 naming the field for anything missing, of the wrong type,
            not finite, or out of range.
    """
    if not isinstance(body, dict):
        raise InputError("the request body must be a JSON object")
    unknown = sorted(set(body) - SUBMISSION_FIELDS)
    if unknown:
        raise InputError(f"unknown field(s): {', '.join(unknown)}", field=unknown[0])
    for name in ("ratings", "time_on_trial_ms", "plays"):
        if name not in body:
            raise InputError(f"missing field {name!r}", field=name)
    if not isinstance(body["ratings"], dict) or not body["ratings"]:
        raise InputError("ratings must be a non-empty object of letter -> rating", field="ratings")
    ratings = {}
    lowest, highest = scale.plain(scale.minimum), scale.plain(scale.maximum)
    for label, value in body["ratings"].items():
        rating = _number(value, f"ratings.{label}", f"{lowest} to {highest}")
        if not scale.contains(rating):
            raise InputError(
                f"ratings.{label} must be between {lowest} and {highest}, got {value!r}",
                field=f"ratings.{label}",
            )
        ratings[str(label)] = scale.normalise(rating)
    time_ms = _count(body["time_on_trial_ms"], "time_on_trial_ms", MAX_TIME_ON_TRIAL_MS)
    if not isinstance(body["plays"], dict):
        raise InputError("plays must be an object of letter -> number of plays", field="plays")
    plays = {str(k): _count(v, f"plays.{k}", MAX_PLAYS) for k, v in body["plays"].items()}
    comment = body.get("comment")
    if comment is not None:
        comment = check_text(comment, "comment", MAX_COMMENT_CHARS).strip() or None
    loop_used = body.get("loop_used")
    if loop_used is not None and not isinstance(loop_used, bool):
        raise InputError(f"loop_used must be true or false, got {loop_used!r}", field="loop_used")
    moves = body.get("slider_moves")
    if moves is not None:
        if not isinstance(moves, dict):
            raise InputError(
                "slider_moves must be an object of letter -> number of moves", field="slider_moves"
            )
        moves = {str(k): _count(v, f"slider_moves.{k}", MAX_PLAYS) for k, v in moves.items()}
    level_db = body.get("level_db")
    if level_db is not None:
        level_db = _number(level_db, "level_db", f"{MIN_LEVEL_DB:g} to {MAX_LEVEL_DB:g}")
        if not MIN_LEVEL_DB <= level_db <= MAX_LEVEL_DB:
            raise InputError(
                f"level_db must be between {MIN_LEVEL_DB} and {MAX_LEVEL_DB}, got {level_db!r}",
                field="level_db",
            )
    return Submission(ratings, time_ms, plays, comment, loop_used, moves, level_db)


def check_against_trial(
    submission: Submission,
    labels: list[str],
    has_reference: bool,
    checks: Checks,
    scale: RatingScale = DEFAULT_SCALE,
) -> None:
    """Check the letters and the test's required checks for one trial.

    "At the top" is the ``scale``'s top (:meth:`~dmc.contracts.scale.RatingScale.at_top`).

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
    unknown = sorted(set(submission.slider_moves or {}) - expected)
    if unknown:
        raise InputError(f"unknown condition(s) {unknown} in slider_moves", field="slider_moves")
    if checks.play_all_before_rating:
        unplayed = [label for label in labels if submission.plays.get(label, 0) < 1]
        if unplayed:
            raise InputError(
                f"condition(s) {unplayed} were never played; play every condition", 422, "plays"
            )
    highest = scale.denormalise(max(submission.ratings.values()))
    if checks.one_at_top and not scale.at_top(highest):
        raise InputError(
            f"rate at least one condition at the top of the scale "
            f"({scale.format(scale.top_value)})",
            422,
            "ratings",
        )


def parse_level_db(value: Any) -> float | None:
    """The in-page level (dB) from a form field or JSON; empty means not recorded.

    Raises:
        InputError: 400 for anything but a number from -30 to 0, including integers too
            large for a float (``float()`` raises ``OverflowError`` on those).
    """
    if value is None or value == "":
        return None
    range_error = InputError(
        f"level_db must be between {MIN_LEVEL_DB} and {MAX_LEVEL_DB}, got {_short(value)}",
        field="level_db",
    )
    try:
        level = float(value)
    except OverflowError:
        raise range_error from None
    except (TypeError, ValueError):
        raise InputError(
            f"level_db must be a number, got {_short(value)}", field="level_db"
        ) from None
    if not MIN_LEVEL_DB <= level <= MAX_LEVEL_DB:  # also refuses NaN and infinities
        raise range_error
    return level


def parse_headphone_answers(values: list[Any]) -> list[int]:
    """One answer per headphone trial: which of the three tones (1, 2 or 3) was quietest.

    Whole numbers only (the form's ``"1"`` to ``"3"``, JSON's ``1`` to ``3``): ``1.0`` or
    ``true`` would compare equal to a tone but be stored as other text.
    """
    answers = []
    for i, value in enumerate(values):
        if isinstance(value, str) and value.strip() in ("1", "2", "3"):
            value = int(value)
        if type(value) is not int or value not in (1, 2, 3):
            raise InputError(f"answer example {i + 1}: choose tone 1, 2 or 3", field=f"answers.{i}")
        answers.append(value)
    return answers


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
