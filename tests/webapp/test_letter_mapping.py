"""Every stored rating carries the method behind the submitting rater's own letter.

Raters see letters, the database stores methods. Translating a rater's letters with
another rater's mapping (or the design's canonical order) stores plausible numbers under
the wrong methods: no error, no odd value, only a wrong result. Mutation testing
(``benchmarks/bench_mutation.py``) found that only the end-to-end integration test
noticed, through a moved p-value; this test reads the rating rows themselves.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from evaluation.design import plan_for_rater
from webapp.services.study import study_status


def _ratings(trial: dict, rater: int, position: int) -> dict:
    """A valid submission whose ratings say who sent them: 1.0 on A, then distinct values."""
    labels = [c["label"] for c in trial["conditions"]]
    ratings = {label: round(0.5 - 0.05 * i - 0.01 * rater, 2) for i, label in enumerate(labels)}
    ratings[labels[0]] = 1.0
    plays = dict.fromkeys(labels, 1)
    if trial["reference_url"]:
        plays["reference"] = 1
    comment = f"rater {rater}, trial {position}"
    return {"ratings": ratings, "plays": plays, "time_on_trial_ms": 9000, "comment": comment}


def test_each_rating_row_has_the_method_of_the_submitting_raters_letter(
    make_app, database_url, rater_client
):
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url)
    client = app.test_client()
    raters = [rater_client(client), rater_client(client)]
    with app.app_context():
        design = study_status().study.design
    plans = {r.rater_id: plan_for_rater(design, r.rater_id) for r in raters}
    mappings = {
        rater_id: {t.trial_id: t.method_of for t in plan.trials} for rater_id, plan in plans.items()
    }
    first, second = (mappings[r.rater_id] for r in raters)
    differ = [t for t in first if t in second and first[t] != second[t]]
    assert differ, (
        "the two raters' letters must differ on some trial for this test to mean anything"
    )

    sent = {}
    trial_ids = [r.status()["trial_ids"] for r in raters]
    assert all(
        ids == [t.trial_id for t in plans[r.rater_id].trials] for r, ids in zip(raters, trial_ids)
    )
    for position in range(len(trial_ids[0])):  # the raters take turns, trial by trial
        for index, rater in enumerate(raters):
            trial_id = trial_ids[index][position]
            body = _ratings(rater.trial(trial_id), index, position)
            response = rater.submit(trial_id, body)
            assert response.status_code == 200, response.get_json()
            sent[(rater.rater_id, trial_id)] = body["ratings"]

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT rater.rater_id, rating.trial_id, rating.label, rating.method, "
                    "rating.rating FROM rating JOIN rater ON rater.id = rating.rater_pk"
                )
            ).all()
            recorded = dict(
                connection.execute(
                    sa.text(
                        "SELECT rater.rater_id || '/' || assignment.trial_id, assignment.labels_json "
                        "FROM assignment JOIN rater ON rater.id = assignment.rater_pk"
                    )
                ).all()
            )
    finally:
        engine.dispose()
    assert len(rows) == sum(len(ratings) for ratings in sent.values())
    for rater_id, trial_id, label, method, rating in rows:
        assert method == mappings[rater_id][trial_id][label], (rater_id, trial_id, label)
        assert rating == sent[(rater_id, trial_id)][label]
    for rater_id, trials in mappings.items():  # the recorded plan is the seeded one
        for trial_id, method_of in trials.items():
            assert json.loads(recorded[f"{rater_id}/{trial_id}"]) == method_of
