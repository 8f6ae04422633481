"""The rater's pages: welcome and consent, questionnaire, volume, trials, comments, finish.

Every page lives under the rater's link ``/r/<token>``; that one URL always shows the
first unfinished step, worked out from what is stored, so a reload or a link opened
days later resumes exactly there. Forms post to ``/r/<token>/<step>`` and redirect back
(post/redirect/get), so a reload never posts twice. Trials are submitted by the page's
JavaScript through the JSON API (:mod:`webapp.routes.api`).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from dmc.contracts.manifest import RENDER_COMMAND
from webapp.routes.api import trial_payload
from webapp.services.headphones import answer_key, correct_answers
from webapp.services.raters import (
    Progress,
    create_rater,
    load_progress,
    record_comments,
    record_consent,
    record_headphones,
    record_questionnaire,
    record_volume,
)
from webapp.services.study import study_status
from webapp.services.throttle import RateLimited, check_rater_creation
from webapp.services.validation import (
    DEVICE_CHOICES,
    MAX_COMMENT_CHARS,
    ROLE_CHOICES,
    InputError,
    check_external_id,
    check_text,
    parse_headphone_answers,
    parse_level_db,
    parse_questionnaire,
)

bp = Blueprint("rater", __name__)

#: Query parameters a crowdsourcing platform may append to the start link.
EXTERNAL_ID_PARAMS = ("external_id", "PROLIFIC_PID", "workerId")


def _no_test():
    status = study_status()
    return render_template("no_test.html", problem=status.problem, command=RENDER_COMMAND), 503


def _texts(study) -> dict:
    return study.design.config.texts


@bp.get("/")
def welcome():
    study = study_status().study
    if study is None:
        return _no_test()
    external_id = next((request.args[p] for p in EXTERNAL_ID_PARAMS if request.args.get(p)), "")
    return render_template(
        "welcome.html", texts=_texts(study), action=url_for("rater.start"), external_id=external_id
    )


@bp.post("/start")
def start():
    study = study_status().study
    if study is None:
        return _no_test()
    external_id = None
    try:  # the same rules and messages as POST /api/raters
        external_id = check_external_id(request.form.get("external_id"))
        if request.form.get("consent") != "yes":
            raise InputError("Please tick the box to agree before you start.")
        check_rater_creation()
    except InputError as exc:
        page = render_template(
            "welcome.html",
            texts=_texts(study),
            action=url_for("rater.start"),
            error=str(exc),
            external_id=external_id or "",
        )
        headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, RateLimited) else {}
        return page, exc.status, headers
    rater = create_rater(
        study.design,
        True,
        external_id=external_id,
        user_agent=request.user_agent.string,
    )
    return redirect(url_for("rater.resume", token=rater.token), code=303)


def _progress_or_404(token: str, study) -> Progress:
    progress = load_progress(token, study.design)
    if progress is None:
        abort(404, description="This link is not valid. Please check that you copied all of it.")
    return progress


@bp.get("/r/<token>")
def resume(token: str):
    study = study_status().study
    if study is None:
        return _no_test()
    progress = _progress_or_404(token, study)
    return _render_stage(progress, study)


def _render_stage(progress: Progress, study, error: str | None = None, status: int = 200):
    token = progress.rater.token
    texts = _texts(study)
    done, total = progress.counts_of(training=False)
    common = {
        "texts": texts,
        "token": token,
        "done": done,
        "total": total,
        "error": error,
        "max_comment_chars": MAX_COMMENT_CHARS,
    }
    stage = progress.stage
    if stage == "consent":
        page = render_template(
            "welcome.html", action=url_for("rater.consent", token=token), external_id="", **common
        )
    elif stage == "questionnaire":
        page = render_template(
            "questionnaire.html",
            roles=ROLE_CHOICES,
            devices=DEVICE_CHOICES,
            form=request.form,
            **common,
        )
    elif stage == "volume":
        audio_url = url_for("audio.calibration", token=token)
        page = render_template("volume.html", audio_url=audio_url, **common)
    elif stage == "headphones":
        spec = study.design.config.headphone_check
        urls = [url_for("audio.headphone_trial", token=token, number=i) for i in range(spec.trials)]
        page = render_template("headphones.html", urls=urls, **common)
    elif stage == "trial":
        payload = trial_payload(progress, progress.next_assignment.trial_id, study)
        screened = progress.rater.headphone_passed is False and not progress.done
        page = render_template("trial.html", trial=payload, screened=screened, **common)
    elif stage == "comments":
        page = render_template("comments.html", **common)
    else:
        config = study.design.config
        page = render_template(
            "finish.html", code=config.completion_code, return_url=config.return_url, **common
        )
    return page, status


def _step(token: str, action) -> object:
    """Run one form step; on a rejected input show the same page with the message."""
    study = study_status().study
    if study is None:
        return _no_test()
    _progress_or_404(token, study)
    try:
        action()
    except InputError as exc:
        return _render_stage(_progress_or_404(token, study), study, str(exc), exc.status)
    return redirect(url_for("rater.resume", token=token), code=303)


@bp.post("/r/<token>/consent")
def consent(token: str):
    def act():
        if request.form.get("consent") != "yes":
            raise InputError("Please tick the box to agree before you start.")
        record_consent(token)

    return _step(token, act)


@bp.post("/r/<token>/questionnaire")
def questionnaire(token: str):
    return _step(token, lambda: record_questionnaire(token, parse_questionnaire(request.form)))


@bp.post("/r/<token>/volume")
def volume(token: str):
    def act():
        if request.form.get("volume_ok") != "yes":
            raise InputError("Please confirm that the volume is set.")
        record_volume(token, parse_level_db(request.form.get("level_db")))

    return _step(token, act)


@bp.post("/r/<token>/headphones")
def headphones(token: str):
    def act():
        spec = study_status().study.design.config.headphone_check
        if not spec.enabled:
            raise InputError("this test has no headphone check", 404)
        answers = parse_headphone_answers(
            [request.form.get(f"answer-{i}") for i in range(spec.trials)]
        )
        key = answer_key(current_app.config["SECRET_KEY"], token, spec.trials)
        record_headphones(token, answers, correct_answers(key), spec.min_correct)

    return _step(token, act)


@bp.post("/r/<token>/comments")
def comments(token: str):
    def act():
        comment = request.form.get("comment") or ""
        record_comments(token, check_text(comment, "comment", MAX_COMMENT_CHARS))

    return _step(token, act)
