"""Reading, validating and selecting ratings: exports, escaping, bad rows, simulated rows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis.pipeline import AnalysisOptions, prepare
from analysis.ratings import (
    RATING_COLUMNS,
    NoRatingsError,
    RatingsError,
    drop_training,
    ordered_methods,
    read_database,
    read_ratings_file,
    select_simulated,
    validate_ratings,
)
from dmc.contracts.ratings import unescape_cell as unescape_formula


def test_columns_are_the_interface_contract():
    # Pinned literally: the ratings export format is shared with other tools and papers.
    contract = [
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
    ]
    assert list(RATING_COLUMNS) == contract


def test_csv_round_trip_keeps_values_and_types(simulated_ratings, write_csv):
    ratings = read_ratings_file(write_csv(simulated_ratings))
    assert list(ratings.columns) == list(RATING_COLUMNS)
    np.testing.assert_allclose(ratings["rating"], simulated_ratings["rating"])
    assert (
        ratings["is_training"].dtype == bool
        and ratings["is_training"].sum() == simulated_ratings["is_training"].sum()
    )
    assert ratings["is_simulated"].all()
    assert (ratings["plays"] == simulated_ratings["plays"]).all()


@pytest.mark.parametrize("layout", ["records", "document", "lines"])
def test_json_exports(simulated_ratings, tmp_path, layout):
    records = json.loads(simulated_ratings.head(50).to_json(orient="records"))
    path = tmp_path / ("ratings.jsonl" if layout == "lines" else "ratings.json")
    if layout == "records":
        path.write_text(json.dumps(records))
    elif (
        layout == "document"
    ):  # webapp.storage.export.to_json: {"columns", "ratings", "questionnaire", ...}
        path.write_text(
            json.dumps({"columns": list(RATING_COLUMNS), "ratings": records, "comments": []})
        )
    else:
        path.write_text("\n".join(json.dumps(r) for r in records))
    ratings = read_ratings_file(path)
    assert len(ratings) == 50
    np.testing.assert_allclose(ratings["rating"], simulated_ratings["rating"].head(50))


def test_spreadsheet_escaping_is_undone(make_panel, write_csv):
    frame = make_panel({"r1": {"target": [1.0, 1.0]}})
    frame.loc[0:2, "rater_id"] = "'=HYPERLINK(1)"
    frame.loc[3:, "rater_id"] = "'  -dash"
    frame["trial_id"] = frame["trial_id"].where(frame.index % 2 == 0, "'hello")  # not an escape
    frame["submitted_at"] = "'+2025"
    ratings = read_ratings_file(write_csv(frame))
    assert set(ratings["rater_id"]) == {"=HYPERLINK(1)", "  -dash"}
    assert "'hello" in set(ratings["trial_id"])
    assert set(ratings["submitted_at"]) == {"+2025"}
    assert unescape_formula("'\tx") == "\tx" and unescape_formula("'@x") == "@x"
    assert unescape_formula("it's") == "it's" and unescape_formula(0.5) == 0.5


def _bad(frame: pd.DataFrame, column: str, value, row: int = 1) -> pd.DataFrame:
    frame = frame.astype({column: object}).copy()
    frame.loc[row, column] = value
    return frame


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("rating", 1.2, "rating must lie in \\[0, 1\\]: .*line 3 .*1.2"),
        ("rating", -0.01, "rating must lie in \\[0, 1\\]"),
        ("rating", "abc", "rating must be a number: .*line 3.*'abc'"),
        ("rating", "", "rating must be a number"),
        ("method", "Hidden Ref", "invalid method name\\(s\\) 'Hidden Ref'"),
        ("is_training", "maybe", "is_training must be true or false.*'maybe'"),
        ("plays", -1, "plays must not be negative"),
        ("time_on_trial_ms", "slow", "time_on_trial_ms must be a number"),
        ("rater_id", "", "rater_id is empty"),
    ],
)
def test_bad_rows_name_file_line_and_value(make_panel, write_csv, column, value, message):
    path = write_csv(_bad(make_panel({"r1": {"target": [1.0, 1.0]}}), column, value))
    with pytest.raises(RatingsError, match=message) as info:
        read_ratings_file(path)
    assert str(path) in str(info.value)


def test_duplicates_and_missing_columns_are_errors(make_panel, write_csv):
    frame = make_panel({"r1": {"target": [1.0, 1.0]}})
    with pytest.raises(RatingsError, match="more than one rating per"):
        read_ratings_file(write_csv(pd.concat([frame, frame.iloc[[0]]])))
    with pytest.raises(RatingsError, match="missing column\\(s\\) plays"):
        read_ratings_file(write_csv(frame.drop(columns="plays")))
    mixed = frame.copy()
    mixed.loc[0, "passage_id"] = "other"
    with pytest.raises(RatingsError, match="mixes several tasks or passages"):
        validate_ratings(mixed)


def test_empty_time_and_plays_are_allowed(make_panel, write_csv):
    frame = make_panel({"r1": {"target": [1.0]}}).astype(
        {"plays": object, "time_on_trial_ms": object}
    )
    frame.loc[0, ["plays", "time_on_trial_ms"]] = None
    ratings = read_ratings_file(write_csv(frame))
    assert np.isnan(ratings.loc[0, "plays"]) and ratings.loc[1, "plays"] == 2


def test_missing_empty_and_header_only_files(tmp_path):
    with pytest.raises(NoRatingsError, match="no ratings file at"):
        read_ratings_file(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(NoRatingsError, match="empty"):
        read_ratings_file(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text(",".join(RATING_COLUMNS) + "\n")
    with pytest.raises(NoRatingsError, match="no ratings in"):
        read_ratings_file(tmp_path / "header.csv")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(RatingsError, match="cannot parse"):
        read_ratings_file(tmp_path / "bad.json")


def test_simulated_rows_are_excluded_by_default(real_ratings, simulated_ratings):
    mixed = pd.concat(
        [real_ratings.assign(rater_id="real-" + real_ratings["rater_id"]), simulated_ratings],
        ignore_index=True,
    )
    assert not select_simulated(mixed)["is_simulated"].any()
    assert select_simulated(mixed, "only")["is_simulated"].all()
    assert len(select_simulated(mixed, "include")) == len(mixed)
    analysis = prepare(mixed)
    assert not analysis.ratings["is_simulated"].any() and not analysis.is_simulated
    with pytest.raises(ValueError, match="'some'"):
        select_simulated(mixed, "some")


def test_only_simulated_rows_need_an_explicit_choice(simulated_ratings):
    with pytest.raises(NoRatingsError, match="only simulated ratings .* --simulated only"):
        prepare(simulated_ratings)
    analysis = prepare(simulated_ratings, AnalysisOptions(simulated="only"))
    assert analysis.is_simulated and "SIMULATED" in analysis.title


def test_only_training_rows_is_no_ratings(make_panel):
    frame = make_panel({"r1": {"target": [1.0]}})
    frame["is_training"] = True
    with pytest.raises(NoRatingsError, match="only training"):
        drop_training(frame)


def test_methods_follow_the_manifest_order(make_panel):
    frame = make_panel({"r1": {"mono": [0.3], "anchor_7k": [0.4], "target": [1.0]}}, filler={})
    assert ordered_methods(frame) == ["target", "mono", "anchor_7k"]


def test_missing_sqlite_database_is_not_created(tmp_path):
    pytest.importorskip("webapp.storage.export")
    path = tmp_path / "instance" / "dmc-listening.sqlite"
    with pytest.raises(NoRatingsError, match="no ratings yet: there is no database at"):
        read_database(f"sqlite:///{path}")
    assert not path.exists()


def test_empty_database_is_no_ratings(tmp_path):
    pytest.importorskip("webapp.storage.models")
    from sqlalchemy import create_engine

    from webapp.storage.db import db
    from webapp.storage.export import create_export_view

    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    engine = create_engine(url)
    db.metadata.create_all(engine)
    engine.dispose()
    with pytest.raises(RatingsError, match="has no rating_export view; is it the web app's"):
        read_database(url)
    create_export_view(engine)
    engine.dispose()
    with pytest.raises(NoRatingsError, match="no ratings yet in the database"):
        read_database(url)
