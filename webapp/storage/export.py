"""Exports: one row per rating (CSV, JSON, pandas), the questionnaire, the comments.

The rating rows are the hand-over to the analysis (:mod:`dmc.contracts.ratings`):
``EXPORT_COLUMNS`` in this order, one row per (rater, trial, method). One query,
:func:`rating_query`, defines them: it feeds the admin downloads and the
``export-ratings`` command, and it is also installed in the database as the view
``rating_export`` (:func:`create_export_view`), which the analysis reads by URL without
importing anything from the web app. ``submitted_at`` is ISO 8601 UTC text in every form.

CSV text cells are escaped against spreadsheet formula injection and every field is
quoted (:func:`dmc.contracts.ratings.to_csv`). Comments are free text from raters.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Engine, Select, case, create_engine, func, select, text

from dmc.contracts.ratings import (
    EXPORT_COLUMNS,
    EXPORT_VIEW,
    HEADPHONES_FAILED,
    HEADPHONES_PASSED,
    RATING_COLUMNS,  # noqa: F401  (re-exported: docs/CONTRACTS.md names it here)
    iso_utc,
)
from webapp.config import default_database_url
from webapp.storage.models import Assignment, Rater, Rating, TrialResult

#: Columns that identify a person outside the test (the participant id a crowdsourcing
#: platform passed): in an export only when the experimenter asks for them.
IDENTIFYING_COLUMNS = ("external_id",)
#: One row per rater, as exported by default (no identifying column).
QUESTIONNAIRE_COLUMNS = (
    "rater_id",
    "is_simulated",
    "created_at",
    "consented_at",
    "finished_at",
    "experience_years",
    "role",
    "playback_device",
    "volume_level_db",
    "headphone_check",
    "headphone_correct",
    "trials_done",
    "trials_total",
    "final_comment",
)
#: The same with the identifying columns, after ``rater_id`` (``identifying=True``).
IDENTIFIED_QUESTIONNAIRE_COLUMNS = (
    QUESTIONNAIRE_COLUMNS[0],
    *IDENTIFYING_COLUMNS,
    *QUESTIONNAIRE_COLUMNS[1:],
)
COMMENT_COLUMNS = (
    "rater_id",
    "trial_id",
    "task",
    "passage_id",
    "is_training",
    "submitted_at",
    "comment",
)

_iso = iso_utc


def _headphone_check():
    return case(
        (Rater.headphone_passed.is_(True), HEADPHONES_PASSED),
        (Rater.headphone_passed.is_(False), HEADPHONES_FAILED),
        else_=None,
    )


def rating_query() -> Select:
    """The rating rows: one per stored rating, columns named as :data:`EXPORT_COLUMNS`
    (the contract's :data:`~dmc.contracts.ratings.RATING_COLUMNS`, then its later ones)."""
    columns = (
        Rater.rater_id,
        Assignment.task,
        Assignment.passage_id,
        Rating.trial_id,
        Rating.method,
        Rating.rating,
        Assignment.is_training,
        Rater.is_simulated,
        TrialResult.submitted_at,
        TrialResult.time_on_trial_ms,
        Rating.plays,
        Rating.label,
        Assignment.position + 1,
        TrialResult.reference_plays,
        TrialResult.loop_used,
        _headphone_check(),
        TrialResult.level_db,
        Rating.slider_moves,
    )
    return (
        select(*(column.label(name) for column, name in zip(columns, EXPORT_COLUMNS, strict=True)))
        .join(Rater, Rater.id == Rating.rater_pk)
        .join(
            Assignment,
            (Assignment.rater_pk == Rating.rater_pk) & (Assignment.trial_id == Rating.trial_id),
        )
        .join(
            TrialResult,
            (TrialResult.rater_pk == Rating.rater_pk) & (TrialResult.trial_id == Rating.trial_id),
        )
    )


def create_export_view(engine: Engine) -> None:
    """(Re)install :func:`rating_query` as the database view ``rating_export``.

    Dropped and created again at every start, so a database made by an older version
    gets the current columns.
    """
    sql = rating_query().compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
    with engine.begin() as connection:
        connection.execute(text(f"DROP VIEW IF EXISTS {EXPORT_VIEW}"))
        connection.execute(text(f"CREATE VIEW {EXPORT_VIEW} AS {sql}"))


def rating_rows(connection: Connection) -> list[dict[str, Any]]:
    """Every stored rating as a dict keyed by :data:`EXPORT_COLUMNS`, in rater and trial order."""
    statement = rating_query().order_by(Rater.id, Assignment.position, Rating.method)
    rows = []
    for row in connection.execute(statement):
        item = dict(zip(EXPORT_COLUMNS, row))
        item["is_training"] = bool(item["is_training"])
        item["is_simulated"] = bool(item["is_simulated"])
        if item["loop_used"] is not None:
            item["loop_used"] = bool(item["loop_used"])
        item["submitted_at"] = _iso(item["submitted_at"])
        rows.append(item)
    return rows


def questionnaire_columns(identifying: bool = False) -> tuple[str, ...]:
    """The questionnaire's columns, with ``external_id`` only when ``identifying``."""
    return IDENTIFIED_QUESTIONNAIRE_COLUMNS if identifying else QUESTIONNAIRE_COLUMNS


def questionnaire_rows(connection: Connection, identifying: bool = False) -> list[dict[str, Any]]:
    """One row per rater: questionnaire answers, timestamps, progress, final comment.

    Args:
        identifying: add :data:`IDENTIFYING_COLUMNS` (``external_id``), which can name a
            person; only when the experimenter asks for it (to pay or match raters).
    """
    done = (
        select(TrialResult.rater_pk, func.count().label("n"))
        .group_by(TrialResult.rater_pk)
        .subquery()
    )
    total = (
        select(Assignment.rater_pk, func.count().label("n"))
        .group_by(Assignment.rater_pk)
        .subquery()
    )
    statement = (
        select(
            Rater.rater_id,
            Rater.external_id,
            Rater.is_simulated,
            Rater.created_at,
            Rater.consented_at,
            Rater.finished_at,
            Rater.experience_years,
            Rater.role,
            Rater.playback_device,
            Rater.volume_level_db,
            _headphone_check(),
            Rater.headphone_correct,
            func.coalesce(done.c.n, 0),
            func.coalesce(total.c.n, 0),
            Rater.final_comment,
        )
        .outerjoin(done, done.c.rater_pk == Rater.id)
        .outerjoin(total, total.c.rater_pk == Rater.id)
        .order_by(Rater.id)
    )
    rows = []
    for row in connection.execute(statement):
        item = dict(zip(IDENTIFIED_QUESTIONNAIRE_COLUMNS, row))
        if not identifying:
            for column in IDENTIFYING_COLUMNS:
                del item[column]
        item["is_simulated"] = bool(item["is_simulated"])
        for key in ("created_at", "consented_at", "finished_at"):
            item[key] = _iso(item[key])
        rows.append(item)
    return rows


def comment_rows(connection: Connection) -> list[dict[str, Any]]:
    """Every non-empty per-trial comment."""
    statement = (
        select(
            Rater.rater_id,
            TrialResult.trial_id,
            Assignment.task,
            Assignment.passage_id,
            Assignment.is_training,
            TrialResult.submitted_at,
            TrialResult.comment,
        )
        .join(Rater, Rater.id == TrialResult.rater_pk)
        .join(
            Assignment,
            (Assignment.rater_pk == TrialResult.rater_pk)
            & (Assignment.trial_id == TrialResult.trial_id),
        )
        .where(TrialResult.comment.is_not(None))
        .order_by(Rater.id, Assignment.position)
    )
    rows = []
    for row in connection.execute(statement):
        item = dict(zip(COMMENT_COLUMNS, row))
        item["is_training"] = bool(item["is_training"])
        item["submitted_at"] = _iso(item["submitted_at"])
        rows.append(item)
    return rows


def to_json(connection: Connection, identifying: bool = False) -> str:
    """Everything in one JSON document: ratings, questionnaire (``external_id`` only when
    ``identifying``), comments."""
    document = {
        "columns": list(EXPORT_COLUMNS),
        "ratings": rating_rows(connection),
        "questionnaire": questionnaire_rows(connection, identifying),
        "comments": comment_rows(connection),
    }
    return json.dumps(document, indent=1, allow_nan=False)


def _frame(database_url: str | None, rows_of, columns):
    import pandas as pd

    engine = create_engine(database_url or default_database_url())
    try:
        with engine.connect() as connection:
            rows = rows_of(connection)
    finally:
        engine.dispose()
    return pd.DataFrame(rows, columns=list(columns))


def ratings_frame(database_url: str | None = None):
    """The rating rows as a DataFrame (same rows as the CSV export, unescaped).

    Args:
        database_url: SQLAlchemy URL; default :func:`webapp.config.default_database_url`.
    """
    frame = _frame(database_url, rating_rows, EXPORT_COLUMNS)
    return frame.astype(
        {
            "rating": "float64",
            "is_training": "bool",
            "is_simulated": "bool",
            "time_on_trial_ms": "int64",
            "plays": "int64",
            "trial_position": "int64",
            "reference_plays": "int64",
            "loop_used": "boolean",
            "level_db": "float64",
            "slider_moves": "Int64",
        }
    )


def questionnaire_frame(database_url: str | None = None, identifying: bool = False):
    """One row per rater keyed by ``rater_id`` (see :func:`questionnaire_columns`)."""
    return _frame(
        database_url,
        lambda connection: questionnaire_rows(connection, identifying),
        questionnaire_columns(identifying),
    )
