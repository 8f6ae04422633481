"""Every CSV the web app writes holds hostile text in one cell that no spreadsheet runs.

Raters with hostile ``external_id`` values write hostile per-trial and final comments;
then the admin downloads and ``export-ratings`` (ratings and questionnaire) are read back
with Python's csv module and pandas: one row per record, every text cell unescaped to
exactly what was stored, and no cell that starts a formula after blanks or control
characters unless it starts with the escape.
"""

from __future__ import annotations

import csv
import io

import pandas as pd

from dmc.contracts.ratings import FORMULA_STARTS, RATING_COLUMNS, unescape_cell
from webapp.storage.export import (
    COMMENT_COLUMNS,
    IDENTIFIED_QUESTIONNAIRE_COLUMNS,
    QUESTIONNAIRE_COLUMNS,
)

#: Single-line ids (the API refuses control characters in them).
EXTERNAL_IDS = ["=1+1", " =cmd|' /C calc'!A0", "@SUM(A1:A9)", "-2+3", "'=quoted", 'a,"b"', "+x"]
#: Multi-line free text (tab, CR and LF are kept in comments).
COMMENTS = [
    "ok\r=1+1",
    " \t=1+1",
    "\r\n@x",
    '=HYPERLINK("http://evil.example","click")',
    'say "hi", then\nleave',
    "'",
    "-",
]
INTRO = {"experience_years": "7", "role": "producer", "playback_device": "studio_monitors"}
BLANKS = "".join(chr(c) for c in range(33)) + "\x7f"


def _check(text: str, columns, expected: list[dict], key_columns) -> None:
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert tuple(frame.columns) == tuple(columns)
    assert len(rows) == len(frame) == len(expected)
    for parsed in (rows, frame.to_dict("records")):
        for got, want in zip(parsed, expected):
            for column in key_columns:
                assert unescape_cell(got[column]) == want[column], (column, got[column])
            for value in got.values():
                assert value.startswith("'") or not value.lstrip(BLANKS).startswith(
                    FORMULA_STARTS
                ), value


def test_hostile_text_round_trips_through_every_csv_export(app, client, submission, admin_login):
    people, comments = [], []
    for i, external_id in enumerate(EXTERNAL_IDS):
        created = client.post("/api/raters", json={"consent": True, "external_id": external_id})
        assert created.status_code == 201, created.get_json()
        token, rater_id = created.get_json()["token"], created.get_json()["rater_id"]
        assert client.post(f"/r/{token}/questionnaire", data=INTRO).status_code == 303
        assert client.post(f"/r/{token}/volume", data={"volume_ok": "yes"}).status_code == 303
        for j, trial_id in enumerate(client.get(f"/api/raters/{token}").get_json()["trial_ids"]):
            trial = client.get(f"/api/raters/{token}/trials/{trial_id}").get_json()
            body = submission(trial, seed=j)
            body["comment"] = COMMENTS[(i + j) % len(COMMENTS)]
            saved = client.post(f"/api/raters/{token}/trials/{trial_id}", json=body)
            assert saved.status_code == 200, saved.get_json()
            comments.append({"rater_id": rater_id, "comment": body["comment"].strip()})
        final = COMMENTS[i % len(COMMENTS)] + " (final)"
        assert client.post(f"/r/{token}/comments", data={"comment": final}).status_code == 303
        people.append(
            {"rater_id": rater_id, "external_id": external_id, "final_comment": final.strip()}
        )

    admin_login(client)
    person_keys = ("rater_id", "external_id", "final_comment")
    downloaded = client.get("/admin/export/questionnaire.csv?external_id=1").data.decode()
    _check(downloaded, IDENTIFIED_QUESTIONNAIRE_COLUMNS, people, person_keys)
    # Without asking, no participant id leaves the database (see test_exports_...).
    plain = client.get("/admin/export/questionnaire.csv").data.decode()
    _check(plain, QUESTIONNAIRE_COLUMNS, people, ("rater_id", "final_comment"))
    _check(
        client.get("/admin/export/comments.csv").data.decode(),
        COMMENT_COLUMNS,
        comments,
        ("rater_id", "comment"),
    )
    ratings = client.get("/admin/export/ratings.csv").data.decode()
    rows = list(csv.DictReader(io.StringIO(ratings, newline="")))
    assert len(rows) == len(pd.read_csv(io.StringIO(ratings), dtype=str)) > 0
    assert tuple(rows[0])[: len(RATING_COLUMNS)] == RATING_COLUMNS

    runner = app.test_cli_runner()
    cli_people = runner.invoke(args=["export-ratings", "--questionnaire", "--with-external-id"])
    assert cli_people.exit_code == 0, cli_people.output
    _check(cli_people.output, IDENTIFIED_QUESTIONNAIRE_COLUMNS, people, person_keys)
    assert runner.invoke(args=["export-ratings"]).output == ratings
