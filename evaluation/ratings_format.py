"""The ratings hand-over from the web app to the analysis: one row per rating.

The web app's CSV/JSON export, its database view (``webapp.export.ratings_frame``), the
simulated panels and the analysis all use these columns in this order, so a simulated
panel can stand in for real ratings anywhere. ``rating`` is a float in [0, 1];
``method`` uses the render manifest's names (hidden reference ``target``, anchors
``anchor_3k5``/``anchor_7k``); one row per (rater, trial, method).
"""

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
