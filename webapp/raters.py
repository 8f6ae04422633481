"""What happens to a rater: creation with a recorded plan, progress, and saving trials.

The pages and the JSON API both go through these functions, so the rules live in one
place: a rater's stage follows from what is stored (a reload always lands on the first
unfinished step), and a trial is saved in a single transaction that replaces any
earlier submission of the same trial.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from evaluation.design import TestDesign, Trial, plan_for_rater
from webapp.db import db, lock_for_assignment, upsert, write_session
from webapp.models import Assignment, Rater, Rating, TrialResult, utcnow
from webapp.validation import (
    InputError,
    Questionnaire,
    Submission,
    check_against_trial,
    plausible_token,
)

STAGES = ("consent", "questionnaire", "volume", "trial", "comments", "finish")


@dataclass
class Progress:
    """A rater and where they stand, read in one go for a page or an API answer."""

    rater: Rater
    assignments: list[Assignment]
    done: set[str]

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
        if self.next_assignment is not None:
            return "trial"
        return "comments" if r.finished_at is None else "finish"

    @property
    def counts(self) -> tuple[int, int]:
        """(trials done, trials in the plan), training included."""
        return sum(a.trial_id in self.done for a in self.assignments), len(self.assignments)


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
    return Progress(rater, assignments, done)


def _locked_rater(session: Session, token: str) -> Rater:
    rater = (
        session.scalar(select(Rater).where(Rater.token == token))
        if plausible_token(token)
        else None
    )
    if rater is None:
        raise InputError("unknown rater link (token)", 404, "token")
    return rater


def record_consent(token: str) -> None:
    with write_session() as session:
        rater = _locked_rater(session, token)
        rater.consented_at = rater.consented_at or utcnow()


def record_questionnaire(token: str, answers: Questionnaire) -> None:
    with write_session() as session:
        rater = _locked_rater(session, token)
        rater.experience_years = answers.experience_years
        rater.role = answers.role
        rater.playback_device = answers.playback_device
        rater.questionnaire_at = utcnow()


def record_volume(token: str) -> None:
    with write_session() as session:
        rater = _locked_rater(session, token)
        rater.volume_at = rater.volume_at or utcnow()


def record_comments(token: str, comment: str | None) -> None:
    """Store the final comment and mark the rater finished (refused before the last trial)."""
    with write_session() as session:
        rater = _locked_rater(session, token)
        assigned = set(
            session.scalars(select(Assignment.trial_id).where(Assignment.rater_pk == rater.id))
        )
        done = set(
            session.scalars(select(TrialResult.trial_id).where(TrialResult.rater_pk == rater.id))
        )
        if assigned - done:
            raise InputError(f"{len(assigned - done)} trial(s) are not finished yet", 409)
        rater.final_comment = (comment or "").strip()[:5000] or None
        rater.finished_at = rater.finished_at or utcnow()


# The statements of the submission path, built once (building costs more than running).
_FIND_ASSIGNMENT = (
    select(Rater.id, Rater.consented_at, Assignment.labels_json)
    .outerjoin(
        Assignment,
        (Assignment.rater_pk == Rater.id) & (Assignment.trial_id == bindparam("trial_id")),
    )
    .where(Rater.token == bindparam("token"))
)
_PREVIOUS_RESULT = select(TrialResult.id).where(
    TrialResult.rater_pk == bindparam("rater_pk"), TrialResult.trial_id == bindparam("trial_id")
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

    A second submission of the same trial overwrites the first (same rows, new values);
    the answer says ``resubmitted`` so a double click is harmless and visible. This is
    the hot path under load, so it runs five small statements inside one
    ``BEGIN IMMEDIATE`` transaction.

    Args:
        parse_error: a body that failed :func:`webapp.validation.parse_submission`;
            raised after the rater and trial checks, so an unknown link is a 404
            whatever the body.

    Raises:
        InputError: 404 unknown rater or a trial not in their plan; 409 before consent;
            400/422 from the body and :func:`webapp.validation.check_against_trial`.
    """
    with write_session() as session:
        found = (
            session.execute(_FIND_ASSIGNMENT, {"token": token, "trial_id": trial.trial_id}).first()
            if plausible_token(token)
            else None
        )
        if found is None:
            raise InputError("unknown rater link (token)", 404, "token")
        rater_pk, consented_at, labels_json = found
        if labels_json is None:
            raise InputError(
                f"trial {trial.trial_id!r} is not part of this rater's test", 404, "trial_id"
            )
        if parse_error is not None or submission is None:
            raise parse_error or InputError("missing submission")
        if consented_at is None:
            raise InputError("consent first: this rater has not agreed to take part", 409)
        labels = json.loads(labels_json)
        check_against_trial(
            submission, list(labels), trial.reference_method is not None, design.config.checks
        )
        previous = session.scalar(
            _PREVIOUS_RESULT, {"rater_pk": rater_pk, "trial_id": trial.trial_id}
        )
        keys = {"rater_pk": rater_pk, "trial_id": trial.trial_id}
        result_row = {
            **keys,
            "submitted_at": utcnow(),
            "time_on_trial_ms": submission.time_on_trial_ms,
            "reference_plays": submission.plays.get("reference", 0),
            "comment": submission.comment,
        }
        upsert(session, TrialResult, [result_row], ["rater_pk", "trial_id"])
        rows = [
            {
                **keys,
                "method": method,
                "label": label,
                "rating": submission.ratings[label],
                "plays": submission.plays.get(label, 0),
            }
            for label, method in labels.items()
        ]
        upsert(session, Rating, rows, ["rater_pk", "trial_id", "method"])
        done, total = session.execute(_COUNTS, {"rater_pk": rater_pk}).one()
    return SaveResult(trial.trial_id, previous is not None, int(done), int(total))
