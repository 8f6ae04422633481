"""The steps around the trials: volume audio, the headphone check, old databases, exports.

What the volume page plays (never a condition the rater rates), the anti-phase tones of
the headphone check (measured, not assumed), the columns an older database gains at
start-up, and the analysis reading exports with and without the later columns.
"""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import sqlalchemy as sa

from analysis.ratings import validate_ratings
from dmc.audio import decode_mp3, integrated_loudness
from dmc.contracts.ratings import LATER_COLUMNS, RATING_COLUMNS
from webapp.services import headphones


def _plan_urls(client, rater) -> set[str]:
    urls = set()
    for trial_id in rater.status()["trial_ids"]:
        trial = rater.trial(trial_id)
        urls |= {c["url"] for c in trial["conditions"]}
        if trial["reference_url"]:
            urls.add(trial["reference_url"])
    return urls


def test_volume_page_plays_a_passage_the_rater_never_rates(make_app, tmp_path, rater_client):
    config = tmp_path / "test.yaml"
    config.write_text("trials_per_rater: 1\ntraining:\n  trials: 1\n")
    client = make_app(TEST_CONFIG=str(config)).test_client()
    rater = rater_client(client, intro=False)
    rater.client.post(
        f"/r/{rater.token}/questionnaire",
        data={"experience_years": "2", "role": "producer", "playback_device": "earbuds"},
    )
    page = client.get(f"/r/{rater.token}").data.decode()
    url = re.search(r'data-url="([^"]+)"', page).group(1)
    assert url == f"/calibration-audio/{rater.token}"
    with client.get(url) as volume:
        assert volume.status_code == 200 and "Last-Modified" not in volume.headers
        volume_bytes = volume.data
    volume_audio, _ = sf.read(io.BytesIO(volume_bytes), dtype="float32")
    assert client.post(f"/r/{rater.token}/volume", data={"volume_ok": "yes"}).status_code == 303
    with client.get(url) as again:  # the same file after the step (the trials are shown now)
        assert again.data == volume_bytes
    for planned in _plan_urls(client, rater):  # one scored and one training trial of three
        with client.get(planned) as response:
            assert response.data != volume_bytes
            audio, _ = sf.read(io.BytesIO(response.data), dtype="float32")
            assert not np.array_equal(audio, volume_audio)  # not even the same audio


def test_without_a_spare_passage_the_volume_page_plays_pink_noise_at_the_test_level(
    client, rater_client, tmp_path
):
    rater = rater_client(client, intro=False)
    with client.get(f"/calibration-audio/{rater.token}") as response:
        assert response.status_code == 200 and response.mimetype == "audio/mpeg"
        data = response.data
    (tmp_path / "noise.mp3").write_bytes(data)
    audio, rate = decode_mp3(tmp_path / "noise.mp3")
    assert integrated_loudness(audio, rate) == pytest.approx(-23.0, abs=0.5)
    assert client.get("/calibration-audio/not-a-token").status_code == 404


def test_headphone_tones_are_what_the_check_needs():
    key = headphones.answer_key("secret", "token", 6)
    assert key == headphones.answer_key("secret", "token", 6)  # fixed per rater
    assert key != headphones.answer_key("other secret", "token", 6)
    assert headphones.correct_answers(key) == [order.index("quiet") + 1 for order in key]
    files = {order: headphones.trial_audio(order) for order in set(key)}
    assert len({len(data) for data in files.values()}) == 1  # the order is not in the size
    order = key[0]
    audio, rate = sf.read(io.BytesIO(files[order]), dtype="float64")
    tone_n, gap_n = int(headphones.TONE_S * rate), int(headphones.GAP_S * rate)
    start = int(headphones.EDGE_S * rate)
    levels = {}
    for kind in order:
        tone = audio[start : start + tone_n]
        start += tone_n + gap_n
        left, right = tone[:, 0], tone[:, 1]
        levels[kind] = (np.sqrt(np.mean(left**2)), np.sqrt(np.mean((left + right) ** 2) / 4))
    # Each ear: the quiet tone 6 dB down, the anti-phase tone as loud as the normal one.
    assert 20 * np.log10(levels["quiet"][0] / levels["normal"][0]) == pytest.approx(-6, abs=0.1)
    assert levels["antiphase"][0] == pytest.approx(levels["normal"][0], rel=1e-3)
    # Summed in the air (a loudspeaker's mono sum): the anti-phase tone all but vanishes.
    assert levels["antiphase"][1] < 0.01 * levels["normal"][1]


def test_headphone_audio_and_form(make_app, tmp_path, rater_client):
    config = tmp_path / "test.yaml"
    config.write_text("headphone_check: {trials: 3, min_correct: 3}\n")
    client = make_app(TEST_CONFIG=str(config)).test_client()
    rater = rater_client(client, intro=False)
    base = f"/r/{rater.token}"
    answers = {f"answer-{i}": "1" for i in range(3)}
    too_early = client.post(f"{base}/headphones", data=answers)
    assert too_early.status_code == 409  # the volume comes first
    rater.pass_intro()  # right answers
    assert rater.status()["stage"] == "trial"
    with client.get(f"/headphone-audio/{rater.token}/2") as response:
        assert response.status_code == 200 and response.mimetype == "audio/wav"
        assert "Content-Disposition" not in response.headers
    assert client.get(f"/headphone-audio/{rater.token}/3").status_code == 404
    page = client.get(base).data.decode()
    assert 'id="screened"' not in page


def test_a_failed_headphone_check_is_told_politely_and_exported(make_app, tmp_path, rater_client):
    config = tmp_path / "test.yaml"
    config.write_text("headphone_check: true\n")
    client = make_app(TEST_CONFIG=str(config)).test_client()
    rater = rater_client(client, intro=False)
    rater.pass_intro(headphones_right=False)
    page = client.get(f"/r/{rater.token}").data.decode()
    assert 'id="screened"' in page and "loudspeakers" in page
    rater.finish_all_trials()
    from webapp.storage.export import questionnaire_rows, rating_rows

    with client.application.app_context():
        from webapp.storage.db import db

        connection = db.session.connection()
        assert {r["headphone_check"] for r in rating_rows(connection)} == {"failed"}
        (person,) = questionnaire_rows(connection)
    assert person["headphone_check"] == "failed" and person["headphone_correct"] == 0


def test_error_pages_say_their_message_once(client):
    page = client.get("/r/unknown-token").data.decode()
    assert page.count("This link is not valid") == 1


def test_an_older_database_gains_the_new_columns(tmp_path, make_app):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:  # the tables as the first release made them
        connection.exec_driver_sql(
            "CREATE TABLE rating (id INTEGER PRIMARY KEY, rater_pk INTEGER NOT NULL, "
            "trial_id VARCHAR(300) NOT NULL, method VARCHAR(64) NOT NULL, "
            "label VARCHAR(4) NOT NULL, rating FLOAT NOT NULL, plays INTEGER NOT NULL)"
        )
        connection.exec_driver_sql("INSERT INTO rating VALUES (1, 1, 't', 'mono', 'A', 0.5, 1)")
    engine.dispose()
    make_app(SQLALCHEMY_DATABASE_URI=url)
    make_app(SQLALCHEMY_DATABASE_URI=url)  # a second start changes nothing
    engine = sa.create_engine(url)
    columns = {c["name"] for c in sa.inspect(engine).get_columns("rating")}
    with engine.connect() as connection:
        kept = connection.exec_driver_sql("SELECT rating, slider_moves FROM rating").all()
        view = connection.exec_driver_sql("SELECT * FROM rating_export").keys()
    engine.dispose()
    assert "slider_moves" in columns and kept == [(0.5, None)]
    assert tuple(view) == RATING_COLUMNS + LATER_COLUMNS


@pytest.mark.parametrize("later", [False, True])
def test_the_analysis_reads_exports_with_and_without_the_later_columns(
    client, rater_client, admin_login, tmp_path, later
):
    rater = rater_client(client)
    rater.finish_all_trials()
    admin_login(client)
    text = client.get("/admin/export/ratings.csv").data.decode()
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    if not later:
        frame = frame[list(RATING_COLUMNS)]
    ratings = validate_ratings(frame, "ratings.csv")
    assert len(ratings) == 19
    if later:
        assert set(LATER_COLUMNS) <= set(ratings.columns)
        assert ratings["trial_position"].between(1, 4).all()
        assert set(ratings["condition_label"]) == set("ABCDE")
        assert ratings["loop_used"].isna().all()  # the test client sends none
        assert ratings["headphone_check"].isna().all()
    else:
        assert not set(LATER_COLUMNS) & set(ratings.columns)
    document = json.loads(client.get("/admin/export/ratings.json").data)
    assert document["columns"] == list(RATING_COLUMNS + LATER_COLUMNS)


def test_the_dashboard_shows_the_headphone_result(make_app, tmp_path, rater_client, admin_login):
    config = tmp_path / "test.yaml"
    config.write_text("headphone_check: true\n")
    client = make_app(TEST_CONFIG=str(config)).test_client()
    passed, failed = rater_client(client, intro=False), rater_client(client, intro=False)
    passed.pass_intro()
    failed.pass_intro(headphones_right=False)
    admin_login(client)
    page = client.get("/admin/").data.decode()
    assert "passed (6 right)" in page and "failed (0 right)" in page
