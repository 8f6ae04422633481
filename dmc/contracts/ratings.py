"""The ratings hand-over from the web app to the analysis: one row per rating.

The web app's CSV/JSON export, its database view, the simulated panels and the analysis
all use these columns, so a simulated panel can stand in for real ratings anywhere.
``rating`` is a float in [0, 1] whatever scale the raters used (normalised by
:mod:`dmc.contracts.scale`); ``method`` uses the manifest's names
(:mod:`dmc.contracts.conditions`: hidden reference ``target``, anchors ``anchor_3k5`` /
``anchor_7k``, or an imported system's identifier); one row per (rater, trial, method).

This module owns the whole format: the columns (:data:`RATING_COLUMNS`, then the later
:data:`LATER_COLUMNS` that readers must not require), the spreadsheet escaping of CSV
text cells and its inverse, writing CSV, and reading a ratings table from an export file
or straight from the web app's database by URL, through the database view
:data:`EXPORT_VIEW` that the web app keeps. The analysis therefore needs nothing from
the web app's code.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

#: The columns every ratings table has, in this order.
RATING_COLUMNS = (
    "rater_id",
    "task",
    "passage_id",
    "trial_id",
    "method",
    "rating",
    "is_training",
    "is_simulated",
    "submitted_at",
    "time_on_trial_ms",
    "plays",
)
#: Columns added later (blinding and rater-experience work); readers accept tables without them.
#: ``condition_label`` the letter the rater saw; ``trial_position`` the trial's place in
#: the rater's order (1 = first page, training included); ``reference_plays`` plays of
#: the open reference in that trial; ``loop_used`` whether a loop region other than the
#: whole passage was played; ``headphone_check`` ``passed``, ``failed`` or empty (no
#: check); ``level_db`` the in-page level at saving (dB re the volume page);
#: ``slider_moves`` how often the rater moved that condition's slider.
LATER_COLUMNS = (
    "condition_label",
    "trial_position",
    "reference_plays",
    "loop_used",
    "headphone_check",
    "level_db",
    "slider_moves",
)
#: Every column the web app exports, in this order.
EXPORT_COLUMNS = RATING_COLUMNS + LATER_COLUMNS
#: Values of ``headphone_check``.
HEADPHONES_PASSED, HEADPHONES_FAILED = "passed", "failed"
#: The database view (kept by the web app) whose rows are the export, one per rating.
EXPORT_VIEW = "rating_export"

#: A text cell whose first character, after any leading white space or control
#: characters, is one of these is run as a formula by Excel, LibreOffice or Sheets.
FORMULA_STARTS = ("=", "+", "-", "@")
_ESCAPE = "'"


def default_instance_path() -> Path:
    """The web app's instance folder: ``$DMC_WEBAPP_INSTANCE`` or ``./instance``."""
    value = os.environ.get("DMC_WEBAPP_INSTANCE")
    return Path(value).resolve() if value else (Path.cwd() / "instance").resolve()


def default_database_url() -> str:
    """Where the web app stores ratings and the analysis reads them by default:
    ``$DMC_DATABASE_URL`` or ``sqlite:///<instance>/dmc-listening.sqlite``."""
    return (
        os.environ.get("DMC_DATABASE_URL")
        or f"sqlite:///{default_instance_path() / 'dmc-listening.sqlite'}"
    )


class RatingsError(ValueError):
    """Ratings that cannot be read: a bad file, a bad row, an unreadable database."""


class NoRatingsError(RatingsError):
    """There is nothing to read yet (missing file, empty database, no rows)."""


# ---------------------------------------------------------------------- spreadsheet escaping


def _is_blank_or_control(char: str) -> bool:
    return char.isspace() or ord(char) < 32 or ord(char) == 127


def _runs_as_formula(text: str) -> bool:
    # Leading white space or control characters are escaped whatever follows: spreadsheets
    # strip or act on them, and a formula may follow them.
    return bool(text) and (_is_blank_or_control(text[0]) or text.startswith(FORMULA_STARTS))


def escape_cell(value: Any) -> Any:
    """Neutralise a text cell a spreadsheet would run as a formula; other values pass.

    A string that starts with white space or a control character, or with ``= + - @``
    after them, gets a leading ``'``; so does one that already starts with ``'``, so
    that :func:`unescape_cell` inverts this exactly for every string.
    """
    if isinstance(value, str) and (_runs_as_formula(value) or value.startswith(_ESCAPE)):
        return _ESCAPE + value
    return value


def unescape_cell(value: Any) -> Any:
    """The inverse of :func:`escape_cell`: ``unescape_cell(escape_cell(s)) == s``."""
    if isinstance(value, str) and value.startswith(_ESCAPE):
        rest = value[1:]
        if _runs_as_formula(rest) or rest.startswith(_ESCAPE):
            return rest
    return value


def to_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """CSV text with a header row: every field quoted, text cells escaped, None as empty.

    Quoting every field keeps a carriage return or line feed inside its cell, so every
    record is exactly one CSV row for any reader (pandas, Python's csv, spreadsheets).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else escape_cell(row.get(c)) for c in columns])
    return buffer.getvalue()


# ---------------------------------------------------------------------- reading


def is_database_url(source: str | os.PathLike) -> bool:
    """A SQLAlchemy URL (``sqlite:///...``, ``postgresql+psycopg://...``) rather than a path."""
    return isinstance(source, str) and "://" in source


def read_ratings(source: str | os.PathLike):
    """The raw ratings table of an export file or a database URL (a pandas DataFrame).

    Text cells are unescaped; types are not checked here (``analysis.ratings`` does).

    Raises:
        NoRatingsError: a missing file or database, or no rows.
        RatingsError: a file or database that cannot be read as ratings.
    """
    if is_database_url(source):
        return read_database(str(source))
    return read_file(source)


def read_file(path: str | os.PathLike):
    """Read a CSV, JSON (a list of records or ``{"ratings": [...]}``) or JSON-lines export."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise NoRatingsError(f"no ratings file at {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                data = data.get("ratings", data.get("rows"))
            if not isinstance(data, list):
                raise RatingsError(
                    f'{path}: expected a list of rating records or {{"ratings": [...]}}'
                )
            frame = pd.DataFrame.from_records(data)
        elif suffix in (".jsonl", ".ndjson"):
            frame = pd.read_json(path, lines=True, dtype=False)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
            frame = frame.apply(lambda column: column.map(unescape_cell))
    except pd.errors.EmptyDataError:
        raise NoRatingsError(f"no ratings in {path} (the file is empty)") from None
    except RatingsError:
        raise
    except (json.JSONDecodeError, pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        raise RatingsError(
            f"{path}: cannot parse ratings ({error.__class__.__name__}: {error})"
        ) from error
    if len(frame) == 0:
        raise NoRatingsError(f"no ratings in {path}")
    frame.attrs["source"] = str(path)
    return frame


def display_url(database_url: str) -> str:
    """The URL with any password masked, for messages."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except ArgumentError:  # unparsable: show no credentials
        return database_url.split("@")[-1]


def read_database(database_url: str):
    """Every row of the web app's :data:`EXPORT_VIEW` (a SQLite file that does not exist is
    reported as "no ratings yet", not created)."""
    import pandas as pd
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    shown = display_url(database_url)
    if database_url.startswith("sqlite:///") and database_url != "sqlite:///:memory:":
        db_path = Path(database_url[len("sqlite:///") :].split("?")[0])
        if not db_path.is_file():
            raise NoRatingsError(f"no ratings yet: there is no database at {db_path}")
    try:
        engine = create_engine(database_url)
        try:
            with engine.connect() as connection:
                result = connection.execute(text(f"SELECT * FROM {EXPORT_VIEW}"))
                frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
        finally:
            engine.dispose()
    # A bad URL, a missing driver, an unreadable file, a foreign schema: one line each.
    except (SQLAlchemyError, ImportError, OSError, ValueError) as error:
        message = (str(error).strip().splitlines() or [error.__class__.__name__])[0]
        if EXPORT_VIEW in message:
            message = (
                f"it has no {EXPORT_VIEW} view; is it the web app's database "
                "(`flask --app webapp init-db` creates it)?"
            )
        raise RatingsError(f"cannot read ratings from {shown}: {message}") from error
    if len(frame) == 0:
        raise NoRatingsError(f"no ratings yet in the database {shown}")
    for name in ("is_training", "is_simulated", "loop_used"):
        if name in frame:
            frame[name] = frame[name].map(lambda v: None if v is None else bool(v))
    if "submitted_at" in frame:
        frame["submitted_at"] = frame["submitted_at"].map(iso_utc)
    frame.attrs["source"] = shown
    return frame


def iso_utc(value) -> str | None:
    """ISO 8601 UTC text with milliseconds and ``Z`` for a naive UTC datetime or its SQL text."""
    if value is None or (isinstance(value, str) and value.endswith("Z")):
        return value
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
