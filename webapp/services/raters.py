"""What happens to a rater: creation with a recorded plan, progress, and saving trials.

The pages and the JSON API both go through these functions, so the rules live in one
place: a rater's stage follows from what is stored (a reload always lands on the first
unfinished step), trials are saved in the rater's order, each in a single
transaction, and a saved trial is final.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from evaluation.design import TestDesign, Trial, plan_for_rater
from webapp.services.validation import (
    MAX_COMMENT_CHARS,
    InputError,
    Questionnaire,
    Submission,
    check_against_trial,
    plausible_token,
)
from webapp.storage.db import db, lock_for_assignment, upsert, write_session
from webapp.storage.models import Assignment, Rater, Rating, TrialResult, utcnow

STAGES = ("consent", "questionnaire", "volume", "headphones", "trial", "comments", "finish")
#: What a rater must do before rating, per stage, as the API says it.
STAGE_HINTS = {
    "consent": "agree to take part first (open the rater's link)",
    "questionnaire": "answer the questionnaire first (open the rater's link)",
    "volume": "set the volume first (open the rater's link)",
    "headphones": "do the headphone check first (open the rater's link)",
}


@dataclass
class Progress:
    """A rater and where they stand, read in one go for a page or an API answer."""

    rater: Rater
    assignments: list[Assignment]
    done: set[str]
    headphones_required: bool = False

    @property
    def next_assignment(self) -> Assignment | None:
        return next((a for a in self.assignments if a.trial_id not in self.done), None)

    @property
    def stage(self) -> str:
        r = self.rater
        if r.consented_at is None:
            return "consent"
        if r.questionnaire_at is None:
            return "questionnaire"
        if r.volume_at is None:
            return "volume"
        if self.headphones_required and r.headphone_at is None:
            return "headphones"
        if self.next_assignment is not None:
            return "trial"
        return "comments" if r.finished_at is None else "finish"

    @property
    def counts(self) -> tuple[int, int]:
        """(trials done, trials in the plan), training included."""
        return sum(a.trial_id in self.done for a in self.assignments), len(self.assignments)

    def counts_of(self, training: bool) -> tuple[int, int]:
        """(done, planned) of the training trials or of the scored trials alone."""
        kind = [a for a in self.assignments if a.is_training == training]
        return sum(a.trial_id in self.done for a in kind), len(kind)


def new_token() -> str:
    """A resume token: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


def create_rater(
    design: TestDesign,
    consented: bool,
    is_simulated: bool = False,
    external_id: str | None = None,
    user_agent: str | None = None,
) -> Rater:
    """Create a rater and record their plan, in one transaction.

    The rater id is ``r`` plus the row number, and seeds the plan (see
    :func:`evaluation.design.plan_for_rater`). Subsets are balanced against the
    assignments of every earlier rater, counted inside the same transaction.
    """
    with write_session() as session:
        lock_for_assignment(session)
        counts = Counter(
            dict(
                session.execute(
                    select(Assignment.trial_id, func.count())
                    .where(~Assignment.is_training)
                    .group_by(Assignment.trial_id)
                ).all()
            )
        )
        now = utcnow()
        rater = Rater(
            token=new_token(),
            is_simulated=is_simulated,
            external_id=(external_id or None) and external_id[:128],
            user_agent="".join(c for c in (user_agent or "") if c.isprintable())[:256] or None,
            consented_at=now if consented else None,
            design_hash=design.design_hash,
        )
        session.add(rater)
        session.flush()
        rater.rater_id = f"r{rater.id:05d}"
        plan = plan_for_rater(design, rater.rater_id, counts)
        rater.seed = plan.seed
        for position, planned in enumerate(plan.trials):
            trial = design.trial(planned.trial_id)
            session.add(
                Assignment(
                    rater_pk=rater.id,
                    position=position,
                    trial_id=trial.trial_id,
                    task=trial.task,
                    passage_id=trial.passage_id,
                    is_training=trial.is_training,
                    labels_json=json.dumps(planned.method_of),
                )
            )
    return rater


def load_progress(token: str, design: TestDesign) -> Progress | None:
    """The rater with this token and their progress, or ``None`` for an unknown token.

    Assignments whose trial is no longer in the design (the test was changed) are left
    out, so such a rater is not stuck on a trial that cannot be shown.
    """
    if not plausible_token(token):  # junk (a NUL, say) never reaches a query
        return None
    session = db.session
    rater = session.scalar(select(Rater).where(Rater.token == token))
    if rater is None:
        return None
    known = {t.trial_id for t in design.all_trials}
    assignments = [
        a
        for a in session.scalars(
            select(Assignment).where(Assignment.rater_pk == rater.id).order_by(Assignment.position)
        )
        if a.trial_id in known
    ]
    done = set(
        session.scalars(select(TrialResult.trial_id).where(TrialResult.rater_pk == rater.id))
    )
    return Progress(rater, assignments, done, design.config.headphone_check.enabled)


def _locked_rater(session: Session, token: str) -> Rater:
    rater = (
        session.scalar(select(Rater).where(Rater.token == token))
        if plausible_token(token)
        else None
    )
    if rater is None:
        raise InputError("unknown rater link (token)", 404, "token")
    return rater


def check_ready_for_trials(consented_at, questionnaire_at, volume_at, headphones_at) -> None:
    """Refuse a trial (shown or saved) before the steps that come first.

    Arguments are the times those steps were done (``None``: not yet); pass ``True``
    for ``headphones_at`` when the test has no headphone check.

    Raises:
        InputError: 409 naming the first step not yet done.
    """
    if consented_at is None:
        raise InputError("consent first: this rater has not agreed to take part", 409)
    for stage, done_at in (
        ("questionnaire", questionnaire_at),
        ("volume", volume_at),
        ("headphones", headphones_at),
    ):
        if done_at is None:
            raise InputError(STAGE_HINTS[stage], 409, "stage")


def record_consent(token: str) -> None:
    with write_session() as session:
        rater = _locked_rater(session, token)
        rater.consented_at = rater.consented_at or utcnow()


def record_questionnaire(token: str, answers: Questionnaire) -> None:
    """Store the questionnaire; it may be answered again until the test is finished.

    Raises:
        InputError: 409 before consent, or for changed answers once the rater has
            finished (they describe who gave the ratings; the same answers again are
            a harmless retry and change nothing).
    """
    with write_session() as session:
        rater = _locked_rater(session, token)
        if rater.consented_at is None:
            raise InputError("consent first: this rater has not agreed to take part", 409)
        if rater.finished_at is not None:
            same = (rater.experience_years, rater.role, rater.playback_device) == (
                answers.experience_years,
                answers.role,
                answers.playback_device,
            )
            if same:
                return
            raise InputError(
                "the test is finished; the questionnaire answers given with it cannot be changed",
                409,
                "stage",
            )
        rater.experience_years = answers.experience_years
        rater.role = answers.role
        rater.playback_device = answers.playback_device
        rater.questionnaire_at = utcnow()


def record_volume(token: str, level_db: float | None = None) -> None:
    """Mark the volume step done, with the in-page level the rater left it at (dB)."""
    with write_session() as session:
        rater = _locked_rater(session, token)
        if rater.consented_at is None or rater.questionnaire_at is None:
            raise InputError("answer the questionnaire before setting the volume", 409)
        if rater.volume_at is None:
            rater.volume_at = utcnow()
            rater.volume_level_db = level_db


def record_headphones(
    token: str, answers: list[int], key: list[int], min_correct: int
) -> tuple[bool, int]:
    """Score the headphone check against its key and store it (once: a second try is refused).

    Returns:
        (passed, number correct).

    Raises:
        InputError: 409 before the volume step or when the check was already done.
    """
    with write_session() as session:
        rater = _locked_rater(session, token)
        if rater.volume_at is None:
            raise InputError("set the volume before the headphone check", 409)
        if rater.headphone_at is not None:
            raise InputError("the headphone check is already done; it is taken only once", 409)
        correct = sum(int(a == k) for a, k in zip(answers, key, strict=True))
        rater.headphone_at = utcnow()
        rater.headphone_correct = correct
        rater.headphone_passed = correct >= min_correct
        rater.headphone_answers = "".join(str(a) for a in answers)
        return rater.headphone_passed, correct


def record_comments(token: str, comment: str | None) -> None:
    """Store the final comment and mark the rater finished (refused before the last trial)."""
    with write_session() as session:
        rater = _locked_rater(session, token)
        if rater.volume_at is None:
            raise InputError("the test has not been done yet", 409)
        assigned = set(
            session.scalars(select(Assignment.trial_id).where(Assignment.rater_pk == rater.id))
        )
        done = set(
            session.scalars(select(TrialResult.trial_id).where(TrialResult.rater_pk == rater.id))
        )
        if assigned - done:
            raise InputError(f"{len(assigned - done)} trial(s) are not finished yet", 409)
        rater.final_comment = (comment or "").strip()[:MAX_COMMENT_CHARS] or None
        rater.finished_at = rater.finished_at or utcnow()


# The statements of the submission path, built once (building costs more than running).
_FIND_ASSIGNMENT = (
    select(
        Rater.id,
        Rater.consented_at,
        Rater.questionnaire_at,
        Rater.volume_at,
        Rater.headphone_at,
        Assignment.labels_json,
    )
    .outerjoin(
        Assignment,
        (Assignment.rater_pk == Rater.id) & (Assignment.trial_id == bindparam("trial_id")),
    )
    .where(Rater.token == bindparam("token"))
    # One submission per rater at a time on PostgreSQL, whose transactions would otherwise
    # both see the trial unsaved (SQLite's BEGIN IMMEDIATE serialises them already).
    .with_for_update(of=Rater)
)
#: The rater's plan in order, each trial with its stored result id and comment (or None).
_PLAN = (
    select(Assignment.trial_id, TrialResult.id, TrialResult.comment)
    .outerjoin(
        TrialResult,
        (TrialResult.rater_pk == Assignment.rater_pk)
        & (TrialResult.trial_id == Assignment.trial_id),
    )
    .where(Assignment.rater_pk == bindparam("rater_pk"))
    .order_by(Assignment.position)
)
_STORED_RATINGS = select(Rating.label, Rating.rating).where(
    Rating.rater_pk == bindparam("rater_pk"), Rating.trial_id == bindparam("trial_id")
)
_COUNTS = select(
    select(func.count())
    .select_from(TrialResult)
    .where(TrialResult.rater_pk == bindparam("rater_pk"))
    .scalar_subquery(),
    select(func.count())
    .select_from(Assignment)
    .where(Assignment.rater_pk == bindparam("rater_pk"))
    .scalar_subquery(),
)


@dataclass(frozen=True)
class SaveResult:
    trial_id: str
    resubmitted: bool
    done: int
    total: int


def save_trial(
    token: str,
    trial: Trial,
    submission: Submission | None,
    design: TestDesign,
    parse_error: InputError | None = None,
) -> SaveResult:
    """Validate a submission against the rater's letters and store it in one transaction.

    Trials are saved in the rater's order, after the steps before them (consent,
    questionnaire, volume, headphone check when the test has one). A saved trial is
    final: the rater has moved on to the next page, so a stale tab or a replayed request
    must not replace what was rated. Sending the same ratings and comment again (a
    double click, a retry whose first answer was lost) stores nothing and answers
    ``resubmitted``; different ones are refused with 409. This is the hot path under
    load, so it runs a few small statements inside one ``BEGIN IMMEDIATE`` transaction.

    Args:
        parse_error: a body that failed :func:`webapp.services.validation.parse_submission`;
            raised after the rater and trial checks, so an unknown link is a 404
            whatever the body.

    Raises:
        InputError: 404 unknown rater or a trial not in their plan; 409 before the
            earlier steps or trials, or for a changed saved trial; 400/422 from the body
            and :func:`webapp.services.validation.check_against_trial`.
    """
    with write_session() as session:
        found = (
            session.execute(_FIND_ASSIGNMENT, {"token": token, "trial_id": trial.trial_id}).first()
            if plausible_token(token)
            else None
        )
        if found is None:
            raise InputError("unknown rater link (token)", 404, "token")
        rater_pk, consented_at, questionnaire_at, volume_at, headphone_at, labels_json = found
        if labels_json is None:
            raise InputError(
                f"trial {trial.trial_id!r} is not part of this rater's test", 404, "trial_id"
            )
        if parse_error is not None or submission is None:
            raise parse_error or InputError("missing submission")
        check_ready_for_trials(
            consented_at,
            questionnaire_at,
            volume_at,
            headphone_at if design.config.headphone_check.enabled else True,
        )
        keys = {"rater_pk": rater_pk, "trial_id": trial.trial_id}
        known = {t.trial_id for t in design.all_trials}
        plan = [row for row in session.execute(_PLAN, {"rater_pk": rater_pk}) if row[0] in known]
        stored = next((row for row in plan if row[0] == trial.trial_id), None)
        if stored is not None and stored[1] is not None:
            previous = dict(session.execute(_STORED_RATINGS, keys).all())
            if set(previous) == set(submission.ratings) and submission.same_answer(
                previous, stored[2]
            ):
                done = sum(row[1] is not None for row in plan)
                return SaveResult(trial.trial_id, True, done, len(plan))
            raise InputError(
                f"trial {trial.trial_id!r} is already saved and the rater has moved on; "
                "a saved trial cannot be changed",
                409,
                "trial_id",
            )
        waiting = next((row[0] for row in plan if row[1] is None), None)
        if waiting != trial.trial_id:
            raise InputError(
                f"trial {trial.trial_id!r} comes later in this rater's order; "
                f"save trial {waiting!r} first",
                409,
                "trial_id",
            )
        labels = json.loads(labels_json)
        check_against_trial(
            submission,
            list(labels),
            trial.reference_method is not None,
            design.config.checks,
            design.config.scale,
        )
        result_row = {
            **keys,
            "submitted_at": utcnow(),
            "time_on_trial_ms": submission.time_on_trial_ms,
            "reference_plays": submission.plays.get("reference", 0),
            "comment": submission.comment,
            "loop_used": submission.loop_used,
            "level_db": submission.level_db,
        }
        upsert(session, TrialResult, [result_row], ["rater_pk", "trial_id"])
        moves = submission.slider_moves
        rows = [
            {
                **keys,
                "method": method,
                "label": label,
                "rating": submission.ratings[label],
                "plays": submission.plays.get(label, 0),
                "slider_moves": None if moves is None else moves.get(label, 0),
            }
            for label, method in labels.items()
        ]
        upsert(session, Rating, rows, ["rater_pk", "trial_id", "method"])
        done, total = session.execute(_COUNTS, {"rater_pk": rater_pk}).one()
    return SaveResult(trial.trial_id, False, int(done), int(total))
