"""The admin area under ``/admin``: login, dashboard, live box plot, screening, exports.

Read-only pages are GETs; everything that changes state (login, logout, creating
rater links) is a POST carrying the session's CSRF token (:mod:`webapp.services.auth`). The
dashboard shows progress per rater and per trial, the BS.1534-3 screening flags, a box
plot that refreshes itself, and the download links.
"""

from __future__ import annotations

import re

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import func, select

from dmc.contracts.manifest import RENDER_COMMAND
from dmc.contracts.ratings import EXPORT_COLUMNS, to_csv
from dmc.contracts.scale import DEFAULT_SCALE
from webapp.services.auth import (
    admin_password_configured,
    admin_required,
    check_csrf,
    csrf_token,
    end_admin_sessions,
    login_attempt,
    start_admin_session,
)
from webapp.services.links import public_url
from webapp.services.plots import boxplot_png
from webapp.services.raters import create_rater
from webapp.services.screening import screen
from webapp.services.study import study_status
from webapp.storage.db import db
from webapp.storage.export import (
    COMMENT_COLUMNS,
    comment_rows,
    questionnaire_columns,
    questionnaire_rows,
    rating_rows,
    to_json,
)
from webapp.storage.models import Assignment, TrialResult

bp = Blueprint("admin", __name__, url_prefix="/admin")
MAX_NEW_LINKS = 500


@bp.before_request
def _csrf():
    check_csrf()


@bp.context_processor
def _inject_csrf():
    return {"csrf_token": csrf_token}


#: A post-login target: a plain path under /admin, nothing that could leave the site or
#: break the Location header (no "//", backslash, control character or query).
_NEXT = re.compile(r"/admin(/[A-Za-z0-9._~/-]*)?")


def _safe_next(target: str | None) -> str:
    """Only same-site paths under /admin as a post-login target (no open redirect)."""
    if target and _NEXT.fullmatch(target) and "//" not in target:
        return target
    return url_for("admin.dashboard")


@bp.route("/login", methods=("GET", "POST"))
def login():
    error, status, headers = None, 200, {}
    if request.method == "POST":
        accepted, retry_after = login_attempt(request.form.get("password", ""))
        if accepted:
            start_admin_session()
            return redirect(_safe_next(request.form.get("next")), code=303)
        if retry_after:
            minutes = max(1, round(retry_after / 60))
            error = f"Too many failed logins. Try again in about {minutes} minute(s)."
            status, headers = 429, {"Retry-After": str(retry_after)}
        else:
            error, status = "Wrong password.", 401
    page = render_template(
        "admin/login.html",
        error=error,
        configured=admin_password_configured(),
        next=_safe_next(request.values.get("next")),
    )
    return page, status, headers


@bp.post("/logout")
def logout():
    end_admin_sessions()
    return redirect(url_for("admin.login"), code=303)


def _trial_progress(study) -> list[dict]:
    assigned = dict(
        db.session.execute(
            select(Assignment.trial_id, func.count()).group_by(Assignment.trial_id)
        ).all()
    )
    completed = dict(
        db.session.execute(
            select(TrialResult.trial_id, func.count()).group_by(TrialResult.trial_id)
        ).all()
    )
    trials = study.design.all_trials if study else []
    return [
        {
            "trial": t,
            "assigned": assigned.get(t.trial_id, 0),
            "completed": completed.get(t.trial_id, 0),
        }
        for t in trials
    ]


@bp.get("/")
@admin_required
def dashboard():
    status = study_status()
    connection = db.session.connection()
    raters = questionnaire_rows(connection, identifying=True)  # shown to the admin only
    ratings = rating_rows(connection)
    flags = {result.rater_id: result for result in screen(ratings)}
    study = status.study
    served = study.served if study is not None else None
    return render_template(
        "admin/dashboard.html",
        status=status,
        changed=served.sources_changed() if served is not None else [],
        scale=study.design.config.scale if study is not None else DEFAULT_SCALE,
        command=RENDER_COMMAND,
        raters=raters,
        flags=flags,
        trials=_trial_progress(status.study),
        n_ratings=len(ratings),
        new_links=session.pop("new_links", None),
    )


@bp.post("/raters")
@admin_required
def new_links():
    study = study_status().study
    if study is None:
        flash("No test is being served, so no links can be made.")
        return redirect(url_for("admin.dashboard"), code=303)
    try:
        count = int(request.form.get("count", "1"))
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_NEW_LINKS:
        flash(f"Make between 1 and {MAX_NEW_LINKS} links at a time.")
        return redirect(url_for("admin.dashboard"), code=303)
    links = []
    for _ in range(count):
        rater = create_rater(study.design, consented=False)
        links.append((rater.rater_id, public_url("rater.resume", admin=True, token=rater.token)))
    session["new_links"] = links
    return redirect(url_for("admin.dashboard"), code=303)


@bp.get("/boxplot.png")
@admin_required
def boxplot():
    rows = rating_rows(db.session.connection())
    db.session.rollback()  # end the read before drawing
    study = study_status().study
    bands = study.design.config.scale.bands if study is not None else DEFAULT_SCALE.bands
    png = boxplot_png(rows, include_simulated=request.args.get("simulated") == "1", bands=bands)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "no-store"})


def _download(body: str, filename: str, mimetype: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/export/ratings.csv")
@admin_required
def export_ratings_csv():
    return _download(
        to_csv(rating_rows(db.session.connection()), EXPORT_COLUMNS), "ratings.csv", "text/csv"
    )


def _identifying() -> bool:
    """Whether the download asks for the participant ids (``?external_id=1``)."""
    return request.args.get("external_id") == "1"


@bp.get("/export/questionnaire.csv")
@admin_required
def export_questionnaire_csv():
    """One row per rater; ``?external_id=1`` adds the participant ids."""
    identifying = _identifying()
    rows = questionnaire_rows(db.session.connection(), identifying)
    return _download(
        to_csv(rows, questionnaire_columns(identifying)), "questionnaire.csv", "text/csv"
    )


@bp.get("/export/comments.csv")
@admin_required
def export_comments_csv():
    return _download(
        to_csv(comment_rows(db.session.connection()), COMMENT_COLUMNS), "comments.csv", "text/csv"
    )


@bp.get("/export/ratings.json")
@admin_required
def export_json():
    """Everything as JSON; ``?external_id=1`` adds the participant ids."""
    text = to_json(db.session.connection(), _identifying())
    return _download(text, "ratings.json", "application/json")
