"""The JSON API: what the trial page and simulated raters talk to.

Raters authenticate with the resume token in the URL (no cookies), so an API call
cannot be forged by another site. Every error is JSON ``{"error": ..., "field": ...}``
with a 4xx status, and a rejected request stores nothing.

Endpoints (``<token>`` is the rater's resume token):

- ``POST /api/raters`` ``{"consent": true, "simulated": false, "external_id": null}``
  -> 201 ``{"rater_id", "token", "link"}``
- ``GET /api/raters/<token>`` -> stage, progress and the next trial id
- ``POST /api/raters/<token>/questionnaire``, ``.../volume``, ``GET|POST
  .../headphones``: the steps before the trials, as the pages do them
- ``GET /api/raters/<token>/trials/<trial_id>`` -> the trial as that rater sees it
  (after the same steps as saving it: 409 before them)
- ``POST /api/raters/<token>/trials/<trial_id>`` -> save, see
  :func:`webapp.services.validation.parse_submission` for the body (ratings on the
  test's rating scale, the trial's ``scale``; stored normalised to 0-1). Stages and trials are
  taken in order (409 otherwise); a saved trial is final (an identical resubmission
  answers ``"resubmitted": true``, a changed one 409).
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request, url_for
from werkzeug.exceptions import HTTPException

from webapp.services.headphones import answer_key, correct_answers
from webapp.services.links import public_url
from webapp.services.raters import (
    Progress,
    check_ready_for_trials,
    create_rater,
    load_progress,
    record_headphones,
    record_questionnaire,
    record_volume,
    save_trial,
)
from webapp.services.study import study_status
from webapp.services.throttle import RateLimited, check_rater_creation
from webapp.services.validation import (
    InputError,
    check_external_id,
    parse_headphone_answers,
    parse_level_db,
    parse_questionnaire,
    parse_submission,
)
from webapp.storage.db import db

bp = Blueprint("api", __name__, url_prefix="/api")


def _error(message: str, status: int, field: str | None = None):
    body = {"error": message}
    if field:
        body["field"] = field
    return jsonify(body), status


@bp.errorhandler(InputError)
def _input_error(exc: InputError):
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, RateLimited) else {}
    return jsonify(exc.to_json()), exc.status, headers


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    messages = {
        413: f"request body too large (limit {request.max_content_length} bytes)",
        405: f"method {request.method} not allowed here",
    }
    return _error(messages.get(exc.code, exc.description or exc.name), exc.code or 500)


def _study():
    status = study_status()
    if status.study is None:
        raise InputError(status.problem or "no test is being served", 503)
    return status.study


def _json_body():
    if not request.is_json:
        raise InputError("send the body as JSON (Content-Type: application/json)", 415)
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # thousands of nested brackets: refused like any other bad JSON
        raise InputError("the request body is nested too deeply to be a submission") from None
    if body is None:
        raise InputError("the request body is not valid JSON")
    return body


def _progress(token: str, design) -> Progress:
    progress = load_progress(token, design)
    if progress is None:
        raise InputError("unknown rater link (token)", 404, "token")
    return progress


def trial_payload(progress: Progress, trial_id: str, study) -> dict:
    """Everything the trial page needs, and nothing that tells which method is which."""
    token = progress.rater.token
    position, assignment = next(
        ((i, a) for i, a in enumerate(progress.assignments) if a.trial_id == trial_id), (None, None)
    )
    if assignment is None:
        raise InputError(f"trial {trial_id!r} is not part of this rater's test", 404, "trial_id")
    trial = study.design.trial(trial_id)
    done, total = progress.counts
    same_kind = [a for a in progress.assignments if a.is_training == assignment.is_training]
    following = progress.assignments[position + 1] if position + 1 < total else None
    return {
        "trial_id": trial_id,
        "is_training": assignment.is_training,
        "position": position + 1,
        "total": total,
        "done": done,
        # Counted within training or within the scored trials, as the page shows them.
        "number": same_kind.index(assignment) + 1,
        "of": len(same_kind),
        "prefetch_urls": _audio_urls(following, study) if following else [],
        "level_db": progress.rater.volume_level_db or 0.0,
        "conditions": [
            {"label": label, "url": url_for("audio.file", filename=trial.files[method])}
            for label, method in assignment.labels.items()
        ],
        "reference_url": url_for("audio.reference", trial_id=trial_id)
        if trial.reference_method
        else None,
        "duration_seconds": trial.duration_seconds,
        "checks": vars(study.design.config.checks).copy(),
        # The test's rating scale; the page rates on it, the server stores 0-1.
        "scale": study.design.config.scale.to_json(),
        "submit_url": url_for("api.submit_trial", token=token, trial_id=trial_id),
        "next_url": url_for("rater.resume", token=token),
    }


def _audio_urls(assignment, study) -> list[str]:
    """The audio URLs of an assigned trial, in letter order, then its open reference."""
    trial = study.design.trial(assignment.trial_id)
    urls = [url_for("audio.file", filename=trial.files[m]) for m in assignment.labels.values()]
    if trial.reference_method:
        urls.append(url_for("audio.reference", trial_id=trial.trial_id))
    return urls


@bp.post("/raters")
def new_rater():
    body = _json_body()
    if not isinstance(body, dict):
        raise InputError("the request body must be a JSON object")
    unknown = sorted(set(body) - {"consent", "simulated", "external_id"})
    if unknown:
        raise InputError(f"unknown field(s): {', '.join(unknown)}", field=unknown[0])
    if body.get("consent") is not True:
        raise InputError("consent must be true to take part", field="consent")
    simulated = body.get("simulated", False)
    if not isinstance(simulated, bool):
        raise InputError(f"simulated must be true or false, got {simulated!r}", field="simulated")
    external_id = check_external_id(body.get("external_id"))
    design = _study().design
    check_rater_creation()
    rater = create_rater(design, True, simulated, external_id, request.user_agent.string)
    link = public_url("rater.resume", token=rater.token)
    return jsonify({"rater_id": rater.rater_id, "token": rater.token, "link": link}), 201


@bp.get("/raters/<token>")
def rater_status(token: str):
    study = _study()
    progress = _progress(token, study.design)
    done, total = progress.counts
    following = progress.next_assignment
    return jsonify(
        {
            "rater_id": progress.rater.rater_id,
            "stage": progress.stage,
            "done": done,
            "total": total,
            "next_trial_id": following.trial_id if following else None,
            "trial_ids": [a.trial_id for a in progress.assignments],
        }
    )


def _object(allowed: set[str]) -> dict:
    body = _json_body()
    if not isinstance(body, dict):
        raise InputError("the request body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InputError(f"unknown field(s): {', '.join(unknown)}", field=unknown[0])
    return body


def _stage_answer(token: str, study, **extra):
    db.session.rollback()  # end the read before the step; its write was in its own session
    progress = _progress(token, study.design)
    return jsonify({"stage": progress.stage, **extra})


@bp.post("/raters/<token>/questionnaire")
def answer_questionnaire(token: str):
    """``{"experience_years": 7, "role": "producer", "playback_device": "open_headphones"}``."""
    study = _study()
    _progress(token, study.design)
    body = _object({"experience_years", "role", "playback_device"})
    answers = parse_questionnaire({k: "" if v is None else str(v) for k, v in body.items()})
    record_questionnaire(token, answers)
    return _stage_answer(token, study)


@bp.post("/raters/<token>/volume")
def set_volume(token: str):
    """``{"level_db": -6.0}`` (optional): the volume step is done."""
    study = _study()
    _progress(token, study.design)
    body = _object({"level_db"})
    level = body.get("level_db")
    if isinstance(level, bool) or not (level is None or isinstance(level, (int, float))):
        raise InputError(f"level_db must be a number, got {level!r}", field="level_db")
    record_volume(token, parse_level_db(level))
    return _stage_answer(token, study)


@bp.route("/raters/<token>/headphones", methods=("GET", "POST"))
def headphone_check(token: str):
    """GET: the check's audio URLs; POST ``{"answers": [1, 3, ...]}``: score it (once)."""
    study = _study()
    _progress(token, study.design)
    spec = study.design.config.headphone_check
    if not spec.enabled:
        raise InputError("this test has no headphone check", 404)
    if request.method == "GET":
        urls = [url_for("audio.headphone_trial", token=token, number=i) for i in range(spec.trials)]
        return jsonify({"trials": spec.trials, "min_correct": spec.min_correct, "urls": urls})
    body = _object({"answers"})
    answers = body.get("answers")
    if not isinstance(answers, list) or len(answers) != spec.trials:
        raise InputError(f"answers must be a list of {spec.trials} numbers 1-3", field="answers")
    key = correct_answers(answer_key(current_app.config["SECRET_KEY"], token, spec.trials))
    passed, correct = record_headphones(
        token, parse_headphone_answers(answers), key, spec.min_correct
    )
    return _stage_answer(token, study, passed=passed, correct=correct, trials=spec.trials)


@bp.get("/raters/<token>/trials/<path:trial_id>")
def get_trial(token: str, trial_id: str):
    """The trial as the rater sees it; 409 before the steps that come first, as when saving."""
    study = _study()
    progress = _progress(token, study.design)
    payload = trial_payload(progress, trial_id, study)  # 404 for a trial not in the plan
    rater = progress.rater
    check_ready_for_trials(
        rater.consented_at,
        rater.questionnaire_at,
        rater.volume_at,
        rater.headphone_at if progress.headphones_required else True,
    )
    return jsonify(payload)


@bp.post("/raters/<token>/trials/<path:trial_id>")
def submit_trial(token: str, trial_id: str):
    study = _study()
    body = _json_body()
    try:
        trial = study.design.trial(trial_id)
    except KeyError:
        raise InputError(f"unknown trial {trial_id!r}", 404, "trial_id") from None
    submission, problem = None, None
    try:
        submission = parse_submission(body, study.design.config.scale)
    except InputError as exc:  # reported after the link is checked (see save_trial)
        problem = exc
    saved = save_trial(token, trial, submission, study.design, problem)
    return jsonify(
        {
            "saved": True,
            "trial_id": saved.trial_id,
            "resubmitted": saved.resubmitted,
            "done": saved.done,
            "total": saved.total,
            "next_url": url_for("rater.resume", token=token),
        }
    )
