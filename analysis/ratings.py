"""Reading and validating listening-test ratings: the web app's export or its database.

Every analysis starts here, so every analysis sees the same clean table: one row per
(rater, trial, method), typed columns, training and simulated rows flagged, the
spreadsheet escaping of the CSV export undone. A bad row stops the analysis with an
error naming the file, the row and the bad value, because a silently dropped or
mis-parsed rating changes the statistics without anybody noticing.

Reading (files and database URLs) and the columns are the contract of
:mod:`dmc.contracts.ratings`; this module checks and types what was read.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from dmc.contracts.conditions import check_method_name, display_order
from dmc.contracts.ratings import (
    HEADPHONES_FAILED,
    HEADPHONES_PASSED,
    LATER_COLUMNS,
    RATING_COLUMNS,
    NoRatingsError,
    RatingsError,
    default_database_url,
    read_file,
)
from dmc.contracts.ratings import (
    read_database as _read_database,
)

__all__ = ["NoRatingsError", "RatingsError"]

ID_COLUMNS = ("rater_id", "task", "passage_id", "trial_id", "method")
SIMULATED_CHOICES = ("exclude", "only", "include")

_TRUE = {"true", "1", "yes", "t", "y", "1.0"}
_FALSE = {"false", "0", "no", "f", "n", "0.0"}
_MAX_LISTED = 3


def read_ratings_file(path: str | os.PathLike) -> pd.DataFrame:
    """Read and check a CSV, JSON (list of records or ``{"ratings": [...]}``) or JSON-lines export.

    Raises:
        NoRatingsError: the file does not exist or holds no rows.
        RatingsError: the file cannot be parsed or a row is invalid.
    """
    frame = read_file(path)
    return validate_ratings(frame, source=frame.attrs.get("source", str(path)))


def read_database(database_url: str | None = None) -> pd.DataFrame:
    """Read and check the web app's ratings by database URL (default: the app's own database).

    Raises:
        NoRatingsError: no database file or no ratings in it.
        RatingsError: the database cannot be read.
    """
    url = database_url or default_database_url()
    frame = _read_database(url)
    source = frame.attrs.get("source", url)
    frame = validate_ratings(frame, source=source)
    frame.attrs["source"] = source
    return frame


def _where(
    source: str, positions: np.ndarray, frame: pd.DataFrame, detail: pd.Series | None = None
) -> str:
    line_offset = 2 if source.lower().endswith(".csv") else 1
    unit = "line" if line_offset == 2 else "row"
    shown = []
    for pos in positions[:_MAX_LISTED]:
        row = frame.iloc[pos]
        text = f"{unit} {pos + line_offset} (rater {row['rater_id']!s}, trial {row['trial_id']!s}"
        text += f", method {row['method']!s}" if detail is None else f": {detail.iloc[pos]!r}"
        shown.append(text + ")")
    more = f" and {len(positions) - _MAX_LISTED} more" if len(positions) > _MAX_LISTED else ""
    return f"{source}: " + "; ".join(shown) + more


def _to_bool(column: pd.Series, name: str, source: str, frame: pd.DataFrame) -> np.ndarray:
    if column.dtype == bool:
        return column.to_numpy()
    text = column.astype("string").str.strip().str.lower()
    is_true = text.isin(_TRUE).fillna(False).to_numpy(dtype=bool)
    is_false = text.isin(_FALSE).fillna(False).to_numpy(dtype=bool)
    bad = np.flatnonzero(~(is_true | is_false))
    if bad.size:
        raise RatingsError(f"{name} must be true or false: " + _where(source, bad, frame, column))
    return is_true


def _to_number(
    column: pd.Series, name: str, source: str, frame: pd.DataFrame, required: bool
) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    missing = column.isna().to_numpy()
    bad = np.flatnonzero(np.isnan(values) & (~missing | required) | np.isinf(values))
    if bad.size:
        raise RatingsError(f"{name} must be a number: " + _where(source, bad, frame, column))
    return values


def validate_ratings(frame: pd.DataFrame, source: str = "ratings") -> pd.DataFrame:
    """Check and type a ratings table; return a new frame with the contract's columns first.

    Checks: every contract column present; ids non-empty; ``method`` one of
    lowercase identifier (:func:`dmc.contracts.conditions.check_method_name`: built-in
    or imported systems); ``rating`` a number in [0, 1]; the flags true/false;
    ``time_on_trial_ms`` and ``plays`` empty or non-negative numbers; one row per
    (rater, trial, method); one task and passage per (rater, trial). Extra columns are
    kept after the contract's.

    Args:
        frame: rows as read from an export or the database (strings are fine).
        source: file name or database shown in error messages.

    Raises:
        NoRatingsError: no rows.
        RatingsError: the first problem found, naming rows and values.
    """
    missing = [c for c in RATING_COLUMNS if c not in frame.columns]
    if missing:
        raise RatingsError(
            f"{source}: missing column(s) {', '.join(missing)}; "
            f"expected {', '.join(RATING_COLUMNS)}"
        )
    if len(frame) == 0:
        raise NoRatingsError(f"no ratings in {source}")
    frame = frame.reset_index(drop=True)
    out = pd.DataFrame(index=frame.index)
    for name in ID_COLUMNS:
        text = frame[name].astype("string")
        empty = np.flatnonzero((text.isna() | (text.str.strip() == "")).to_numpy(dtype=bool))
        if empty.size:
            raise RatingsError(f"{name} is empty: " + _where(source, empty, frame))
        out[name] = text.astype(object).to_numpy()
    bad_names = []
    for method in out["method"].unique():
        try:
            check_method_name(method)
        except ValueError:
            bad_names.append(method)
    if bad_names:
        rows = np.flatnonzero(out["method"].isin(bad_names).to_numpy())
        raise RatingsError(
            f"invalid method name(s) {', '.join(map(repr, sorted(bad_names)))} (methods are "
            "lowercase identifiers such as target, console, mono): " + _where(source, rows, frame)
        )
    rating_raw = frame["rating"]
    rating = _to_number(rating_raw, "rating", source, frame, required=True)
    outside = np.flatnonzero((rating < 0.0) | (rating > 1.0))
    if outside.size:
        raise RatingsError(
            "rating must lie in [0, 1]: " + _where(source, outside, frame, rating_raw)
        )
    out["rating"] = rating
    out["is_training"] = _to_bool(frame["is_training"], "is_training", source, frame)
    out["is_simulated"] = _to_bool(frame["is_simulated"], "is_simulated", source, frame)
    out["submitted_at"] = frame["submitted_at"].astype(object).to_numpy()
    for name in ("time_on_trial_ms", "plays"):
        values = _to_number(frame[name], name, source, frame, required=False)
        negative = np.flatnonzero(values < 0)
        if negative.size:
            raise RatingsError(
                f"{name} must not be negative: " + _where(source, negative, frame, frame[name])
            )
        out[name] = values
    duplicated = np.flatnonzero(out.duplicated(["rater_id", "trial_id", "method"]).to_numpy())
    if duplicated.size:
        raise RatingsError(
            "more than one rating per (rater, trial, method); the export replaces resubmissions: "
            + _where(source, duplicated, frame)
        )
    per_trial = out.groupby(["rater_id", "trial_id"], sort=False)[["task", "passage_id"]].nunique()
    mixed = per_trial[(per_trial["task"] > 1) | (per_trial["passage_id"] > 1)]
    if len(mixed):
        rater_id, trial_id = mixed.index[0]
        raise RatingsError(
            f"{source}: trial {trial_id!r} of rater {rater_id!r} mixes several tasks or passages"
        )
    _later_columns(frame, out, source)
    for name in frame.columns:
        if name not in RATING_COLUMNS and name not in LATER_COLUMNS:
            out[name] = frame[name].to_numpy()
    return out


def _later_columns(frame: pd.DataFrame, out: pd.DataFrame, source: str) -> None:
    """Check and type the later columns that are present (older exports lack them).

    Empty cells are allowed everywhere (a rating saved before the column existed).
    """
    if "condition_label" in frame:
        text = frame["condition_label"].astype("string").str.strip()
        out["condition_label"] = text.where(text != "").astype(object).to_numpy()
    for name in ("trial_position", "reference_plays", "slider_moves", "level_db"):
        if name not in frame:
            continue
        values = _to_number(frame[name], name, source, frame, required=False)
        if name != "level_db":
            negative = np.flatnonzero(values < 0)
            if negative.size:
                raise RatingsError(
                    f"{name} must not be negative: " + _where(source, negative, frame, frame[name])
                )
        out[name] = values
    if "loop_used" in frame:
        column = frame["loop_used"]
        present = ~column.isna().to_numpy() & (column.astype("string").str.strip() != "").fillna(
            False
        ).to_numpy(dtype=bool)
        flags = np.zeros(len(frame), dtype=bool)
        if present.any():
            flags[present] = _to_bool(column[present], "loop_used", source, frame.loc[present])
        out["loop_used"] = pd.array(np.where(present, flags, pd.NA), dtype="boolean")
    if "headphone_check" in frame:
        text = frame["headphone_check"].astype("string").str.strip().str.lower()
        known = text.isna() | text.isin(["", HEADPHONES_PASSED, HEADPHONES_FAILED])
        bad = np.flatnonzero(~known.fillna(True).to_numpy(dtype=bool))
        if bad.size:
            raise RatingsError(
                f"headphone_check must be {HEADPHONES_PASSED}, {HEADPHONES_FAILED} or empty: "
                + _where(source, bad, frame, frame["headphone_check"])
            )
        out["headphone_check"] = text.where(text != "").astype(object).to_numpy()


def select_simulated(
    ratings: pd.DataFrame, simulated: str = "exclude", source: str = "ratings"
) -> pd.DataFrame:
    """Keep real rows (``"exclude"``, the default), simulated rows (``"only"``) or both.

    Simulated panels exist for demos, tests and power analysis; they must never leak into
    the results of a real test, so mixing them needs ``"include"`` said explicitly.

    Raises:
        ValueError: an unknown choice.
        NoRatingsError: no rows of the requested kind, with a hint when the other kind exists.
    """
    if simulated not in SIMULATED_CHOICES:
        raise ValueError(
            f"simulated must be one of {', '.join(SIMULATED_CHOICES)}, not {simulated!r}"
        )
    is_simulated = ratings["is_simulated"].to_numpy(dtype=bool)
    if simulated == "include":
        return ratings
    keep = ~is_simulated if simulated == "exclude" else is_simulated
    if not keep.any():
        if simulated == "exclude":
            raise NoRatingsError(
                f"{source} holds only simulated ratings ({len(ratings)} rows); "
                "pass --simulated only to analyse them, never mixed with real ones"
            )
        raise NoRatingsError(f"{source} holds no simulated ratings")
    return ratings.loc[keep].reset_index(drop=True)


def drop_training(ratings: pd.DataFrame) -> pd.DataFrame:
    """The rows of scored trials: BS.1534-3 discards the grades of the training phase."""
    kept = ratings.loc[~ratings["is_training"].to_numpy(dtype=bool)].reset_index(drop=True)
    if len(kept) == 0:
        raise NoRatingsError("only training trials have been rated so far")
    return kept


def ordered_methods(ratings: pd.DataFrame) -> list[str]:
    """Methods present in ``ratings`` in the display order (:func:`dmc.contracts.conditions.display_order`).

    The reference, the systems (built-in, then imported by name), the anchors.
    """
    return display_order(ratings["method"].unique())


def ordered_tasks(ratings: pd.DataFrame) -> list[str]:
    """Tasks present in ``ratings``; alphabetical order puts ``drums`` before ``full``."""
    return sorted(ratings["task"].unique())
