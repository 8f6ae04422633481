"""A retry of a saved trial is compared with this rater's stored ratings, not anyone's.

Sending a saved trial again with the same ratings (a double click, a retry whose answer
was lost) is harmless; different ratings are refused with 409. The resubmission test in
``test_api.py`` has one rater, so comparing a retry with every rater's stored ratings of
the trial would pass it, and would answer 409 to a correct retry as soon as a second
rater has saved the same trial: mid-test, the rater's page would say the trial cannot be
saved. Two raters here, on both storage back ends.
"""

from __future__ import annotations

import csv
import io


def test_identical_retries_pass_and_changed_ones_fail_when_two_raters_saved_the_trial(
    make_app, database_url, rater_client, submission, admin_login
):
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url)
    first, second = rater_client(app.test_client()), rater_client(app.test_client())
    trial_id = first.status()["trial_ids"][0]
    assert second.status()["trial_ids"][0] == trial_id  # the training trial comes first for both
    sent = {}
    for seed, rater in enumerate((first, second), start=1):
        sent[rater.token] = submission(rater.trial(trial_id), seed=seed)
        saved = rater.submit(trial_id, sent[rater.token])
        assert saved.status_code == 200 and saved.get_json()["resubmitted"] is False
    assert sent[first.token]["ratings"] != sent[second.token]["ratings"]
    for rater, other in ((first, second), (second, first)):
        again = rater.submit(trial_id, sent[rater.token] | {"time_on_trial_ms": 777})
        assert again.status_code == 200, again.get_json()
        assert again.get_json()["resubmitted"] is True and again.get_json()["done"] == 1
        # the other rater's ratings are a change for this one
        changed = rater.submit(trial_id, sent[other.token])
        assert changed.status_code == 409 and "cannot be changed" in changed.get_json()["error"]
    # and the rater moves on: the next trial saves
    following = first.status()["trial_ids"][1]
    assert first.submit(following, seed=5).status_code == 200
    # what each rater first sent is what is stored, under their own letters
    admin = app.test_client()
    admin_login(admin)
    rows = csv.DictReader(io.StringIO(admin.get("/admin/export/ratings.csv").data.decode()))
    stored = {
        (r["rater_id"], r["condition_label"]): float(r["rating"])
        for r in rows
        if r["trial_id"] == trial_id
    }
    assert stored == {
        (rater.rater_id, label): rating
        for rater in (first, second)
        for label, rating in sent[rater.token]["ratings"].items()
    }
