"""MUSHRA-style listening-test web app: ratings of mixes, every rating kept safe.

Raters open a link, agree, answer three questions, set their volume, do a training
trial and then one trial per passage: every condition of the passage behind a letter,
played by a Web Audio player that switches between them sample-accurately, rated on
vertical sliders on the test config's rating scale (BS.1534's 0-1 in five bands unless
it says otherwise), stored normalised to 0-1. Each trial is saved in one transaction
the moment it is submitted, so a closed tab loses nothing and the link resumes.

Run ``flask --app webapp run --debug`` while developing and ``python -m webapp serve``
(gunicorn, serving a snapshot of the render) for a real panel; ``python -m webapp
--help`` lists every command (:mod:`webapp.commands`) and ``docs/webapp.md`` tells the
whole story. The package is laid out by role:

- :mod:`webapp.routes`: the blueprints, the only modules that answer HTTP requests;
- :mod:`webapp.services`: what the routes and commands do (raters, the served test and
  its snapshots, validation, blinding, admin sign-in, ...), no routes;
- :mod:`webapp.storage`: the database: engine and write transactions, tables, the
  schema and the export view;
- :mod:`webapp.commands`: the command line (click), for ``dmc-webapp``, ``python -m
  webapp`` and ``flask --app webapp``;
- :mod:`webapp.config`: settings and the instance folder.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from flask import Flask, g, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException, ServiceUnavailable

from webapp import config as config_module
from webapp.storage.db import DatabaseBusyError

log = logging.getLogger(__name__)

#: Content-Security-Policy of every page: no inline scripts, no third parties.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)


def create_app(test_config: dict | None = None, settings: dict | None = None) -> Flask:
    """Build the app (the Flask tutorial's factory).

    Settings, later ones winning: defaults and environment variables
    (:func:`webapp.config.defaults`); the instance folder's ``config.py`` (skipped when
    ``test_config`` is given, as for tests); ``test_config``; ``settings``, what a
    command's options say (``serve --instance ... --behind-proxy``: see
    :mod:`webapp.commands`). The instance folder holds the SQLite database,
    ``config.py``, the generated secret key and the served tests' snapshots.
    """
    given = {**(test_config or {}), **(settings or {})}
    instance_path = Path(
        given.get("INSTANCE_PATH") or config_module.default_instance_path()
    ).resolve()
    app = Flask(__name__, instance_path=str(instance_path), instance_relative_config=True)
    app.config.from_mapping(config_module.defaults(instance_path))
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)
    app.config.from_mapping(settings or {})
    instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)  # owner-only when new
    key, source = config_module.resolve_secret_key(instance_path, app.config.get("SECRET_KEY"))
    app.config["SECRET_KEY"] = key
    app.config["SECRET_KEY_SOURCE"] = source
    config_module.check_settings(app.config)
    if app.config.get("PROXY_FIX"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_prefix=1)
    # Outermost: an oversized body is refused from its Content-Length, before anything reads it.
    app.wsgi_app = config_module.BodyLimit(app.wsgi_app, app.config["MAX_CONTENT_LENGTH"])

    from webapp import commands, routes
    from webapp.services import study, throttle
    from webapp.storage import db, schema

    app.extensions[commands.FACTORY_EXTENSION] = create_app  # for flask --app webapp <command>
    db.init_app(app)
    throttle.init_app(app)
    study.init_app(app)
    commands.init_app(app)
    for blueprint in routes.BLUEPRINTS:
        app.register_blueprint(blueprint)
    if app.config.get("INIT_DB", True):
        with app.app_context():
            schema.init_db()

    @app.before_request
    def _start_clock():
        g.request_started = time.perf_counter()

    @app.after_request
    def _headers(response):
        started = g.get("request_started")
        # W3C Server-Timing: the app's own time, for load tests; never on audio, where a
        # duration could tell conditions apart.
        if started is not None and request.blueprint != "audio":
            response.headers["Server-Timing"] = (
                f"app;dur={1000 * (time.perf_counter() - started):.2f}"
            )
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if request.path.startswith("/api/"):
            return jsonify({"error": exc.description or exc.name}), exc.code
        return render_template("error.html", http_error=exc), exc.code

    @app.errorhandler(DatabaseBusyError)
    def _busy(exc: DatabaseBusyError):
        # Nothing was written: the client may retry the same submission safely.
        app.logger.warning("%s (%s)", exc, request.path)
        error = ServiceUnavailable("the server is busy; nothing was saved, please try again")
        response = make_response(_http_error(error))
        response.headers["Retry-After"] = "2"
        return response

    @app.get("/healthz")
    def healthz():
        status = study.study_status()
        return jsonify({"ok": True, "test": status.study is not None, "problem": status.problem})

    return app
