"""Tables: raters, the trials each was assigned (the recorded plan), results and ratings.

One row per (rater, trial) in ``trial_result`` and one per (rater, trial, method) in
``rating``, each with a unique constraint: a resubmitted trial overwrites its rows and
can never duplicate them, whatever the client does. The assignment rows record each
rater's plan (trial order, which letter was which method, training or not) at the
moment the rater was created, so a later change of the test config cannot reinterpret
ratings already given.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from webapp.storage.db import db


def utcnow() -> datetime:
    """Naive UTC, the same on SQLite (no time zones) and PostgreSQL."""
    return datetime.now(UTC).replace(tzinfo=None)


class Rater(db.Model):
    """A participant, known by a public ``rater_id`` and a secret resume ``token``."""

    __tablename__ = "rater"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rater_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    seed: Mapped[int | None] = mapped_column(BigInteger)
    design_hash: Mapped[str | None] = mapped_column(String(32))
    external_id: Mapped[str | None] = mapped_column(String(128))
    is_simulated: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    consented_at: Mapped[datetime | None] = mapped_column(DateTime)
    questionnaire_at: Mapped[datetime | None] = mapped_column(DateTime)
    volume_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    experience_years: Mapped[float | None] = mapped_column(Float)
    role: Mapped[str | None] = mapped_column(String(64))
    playback_device: Mapped[str | None] = mapped_column(String(64))
    final_comment: Mapped[str | None] = mapped_column(Text)
    user_agent: Mapped[str | None] = mapped_column(String(256))
    # Added with the headphone screening (init_db adds them to older databases).
    volume_level_db: Mapped[float | None] = mapped_column(Float)
    headphone_at: Mapped[datetime | None] = mapped_column(DateTime)
    headphone_correct: Mapped[int | None] = mapped_column(Integer)
    headphone_passed: Mapped[bool | None] = mapped_column(Boolean)
    headphone_answers: Mapped[str | None] = mapped_column(String(64))


class Assignment(db.Model):
    """One trial of one rater's plan, at ``position`` (training trials come first)."""

    __tablename__ = "assignment"
    __table_args__ = (
        UniqueConstraint("rater_pk", "trial_id"),
        Index("ix_assignment_trial", "trial_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rater_pk: Mapped[int] = mapped_column(
        ForeignKey("rater.id", ondelete="CASCADE"), nullable=False
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    trial_id: Mapped[str] = mapped_column(String(300), nullable=False)
    task: Mapped[str] = mapped_column(String(64), nullable=False)
    passage_id: Mapped[str] = mapped_column(String(200), nullable=False)
    is_training: Mapped[bool] = mapped_column(Boolean, nullable=False)
    labels_json: Mapped[str] = mapped_column(Text, nullable=False)

    @property
    def labels(self) -> dict[str, str]:
        """Letter -> method, in display order."""
        return json.loads(self.labels_json)


class TrialResult(db.Model):
    """What a rater submitted for one trial, besides the ratings themselves."""

    __tablename__ = "trial_result"
    __table_args__ = (UniqueConstraint("rater_pk", "trial_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rater_pk: Mapped[int] = mapped_column(
        ForeignKey("rater.id", ondelete="CASCADE"), nullable=False
    )
    trial_id: Mapped[str] = mapped_column(String(300), nullable=False)
    submitted_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    time_on_trial_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reference_plays: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    comment: Mapped[str | None] = mapped_column(Text)
    # Added with the rater-experience work (init_db adds them to older databases).
    loop_used: Mapped[bool | None] = mapped_column(Boolean)
    level_db: Mapped[float | None] = mapped_column(Float)


class Rating(db.Model):
    """One rating in [0, 1] of one method in one trial by one rater."""

    __tablename__ = "rating"
    __table_args__ = (UniqueConstraint("rater_pk", "trial_id", "method"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rater_pk: Mapped[int] = mapped_column(
        ForeignKey("rater.id", ondelete="CASCADE"), nullable=False
    )
    trial_id: Mapped[str] = mapped_column(String(300), nullable=False)
    method: Mapped[str] = mapped_column(String(64), nullable=False)
    label: Mapped[str] = mapped_column(String(4), nullable=False)
    rating: Mapped[float] = mapped_column(Float, nullable=False)
    plays: Mapped[int] = mapped_column(Integer, nullable=False)
    slider_moves: Mapped[int | None] = mapped_column(Integer)


#: Columns added after the first release, as (table, column); :func:`webapp.storage.schema.init_db`
#: adds the missing ones to an existing database (``create_all`` never alters a table).
ADDED_COLUMNS = (
    ("rater", "volume_level_db"),
    ("rater", "headphone_at"),
    ("rater", "headphone_correct"),
    ("rater", "headphone_passed"),
    ("rater", "headphone_answers"),
    ("trial_result", "loop_used"),
    ("trial_result", "level_db"),
    ("rating", "slider_moves"),
)


class Setting(db.Model):
    """Small key-value store (the admin password hash)."""

    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)


class LoginFailure(db.Model):
    """One admin login attempt not (yet) known to be right, for throttling across processes.

    A row is written before the password is checked and deleted when it was right, so
    parallel guessers are counted however many worker processes serve them.
    """

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_at", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
