"""The rating scale comes from the test config: the page shows it, the API takes ratings on
it, the database and the exports hold them normalised to 0-1 (the browser's side is in
``test_browser_scale.py``)."""

from __future__ import annotations

import json
import re

from dmc.contracts.ratings import EXPORT_COLUMNS, to_csv
from webapp.storage.db import db
from webapp.storage.export import rating_rows

CONFIG = """
scale: {min: 0, max: 100, step: 1, bands: [worse, same, better], top: 90}
"""


def _page_data(html: str) -> dict:
    found = re.search(r'<script id="trial-data" type="application/json">(.*?)</script>', html)
    return json.loads(found.group(1))


def test_a_0_100_scale_from_the_config_is_shown_taken_and_stored_on_0_1(
    make_app, tmp_path, rater_client
):
    config = tmp_path / "test.yaml"
    config.write_text(CONFIG)
    app = make_app(TEST_CONFIG=str(config))
    client = app.test_client()
    rater = rater_client(client)
    first, second = rater.status()["trial_ids"][:2]

    trial = rater.trial(first)
    assert trial["scale"] == {
        "min": 0, "max": 100, "step": 1, "decimals": 0,
        "bands": ["worse", "same", "better"], "top": 90,
    }  # fmt: skip
    html = client.get(f"/r/{rater.token}").data.decode()
    assert _page_data(html)["scale"] == trial["scale"]
    assert re.search(r'min="0" max="100" step="1" value="50"', html)
    bands = re.search(r'<div class="scale" aria-hidden="true">(.*?)</div>', html, re.S).group(1)
    assert re.findall(r"<span>(\w+)</span>", bands) == ["better", "same", "worse"]
    assert "by 5 (with <kbd>shift</kbd>: 1)" in html
    # The default texts name the scale's ends and bands.
    assert "The scale runs from 0 (bottom of worse) to 100 (top of better)" in html

    labels = [c["label"] for c in trial["conditions"]]
    plays = dict.fromkeys(labels, 1)
    on_scale = {label: 10 * i + 3 for i, label in enumerate(labels)}
    on_scale[labels[0]] = 91  # "at the top" from 90 on this scale
    body = {"ratings": on_scale, "plays": plays, "time_on_trial_ms": 900}

    def refused(ratings, status, message):
        response = rater.submit(first, {**body, "ratings": ratings})
        assert response.status_code == status and message in response.get_json()["error"]

    refused({**on_scale, labels[1]: 101}, 400, f"ratings.{labels[1]} must be between 0 and 100")
    refused({**on_scale, labels[1]: -1}, 400, "between 0 and 100, got -1")
    refused({**on_scale, labels[0]: 89}, 422, "at the top of the scale (90)")
    saved = rater.submit(first, body)
    assert saved.status_code == 200 and saved.get_json()["resubmitted"] is False
    again = rater.submit(first, body)  # the same ratings again: harmless
    assert again.status_code == 200 and again.get_json()["resubmitted"] is True
    assert rater.submit(first, {**body, "ratings": {**on_scale, labels[1]: 14}}).status_code == 409

    # A 0-1 rating is a number on this scale like any other: 1 means 1 of 100.
    other = rater.trial(second)
    ones = {c["label"]: 1 for c in other["conditions"]}
    ones[other["conditions"][0]["label"]] = 100
    plays = dict.fromkeys(ones, 1) | ({"reference": 1} if other["reference_url"] else {})
    response = rater.submit(second, {"ratings": ones, "plays": plays, "time_on_trial_ms": 1})
    assert response.status_code == 200, response.get_json()

    with app.app_context():
        rows = rating_rows(db.session.connection())
    stored = {(r["trial_id"], r["condition_label"]): r["rating"] for r in rows}
    assert {label: stored[(first, label)] for label in labels} == {
        label: value / 100 for label, value in on_scale.items()
    }
    assert sorted(v for (t, _), v in stored.items() if t == second)[-2:] == [0.01, 1.0]
    assert all(0.0 <= r["rating"] <= 1.0 for r in rows)
    assert '"0.91"' in to_csv(rows, EXPORT_COLUMNS)  # the export: normalised, as always


def test_the_default_scale_is_bs1534_on_0_1_unchanged(client, rater_client):
    rater = rater_client(client)
    trial = rater.trial(rater.status()["trial_ids"][0])
    assert trial["scale"] == {
        "min": 0.0, "max": 1.0, "step": 0.01, "decimals": 2,
        "bands": ["Bad", "Poor", "Fair", "Good", "Excellent"], "top": 1.0,
    }  # fmt: skip
    html = client.get(f"/r/{rater.token}").data.decode()
    assert 'min="0.0" max="1.0" step="0.01" value="0.50"' in html
    assert "by 0.05 (with <kbd>shift</kbd>: 0.01)" in html
    bands = re.search(r'<div class="scale" aria-hidden="true">(.*?)</div>', html, re.S).group(1)
    assert re.findall(r"<span>(\w+)</span>", bands) == ["Excellent", "Good", "Fair", "Poor", "Bad"]
    labels = [c["label"] for c in trial["conditions"]]
    body = {
        "ratings": dict.fromkeys(labels, 0.99),
        "plays": dict.fromkeys(labels, 1),
        "time_on_trial_ms": 5,
    }
    response = rater.submit(trial["trial_id"], body)
    assert response.status_code == 422
    assert "at the top of the scale (1.00)" in response.get_json()["error"]
