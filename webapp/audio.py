"""Serving the stimuli: only files the manifest names, with Range requests and ETags.

A requested name is looked up in the manifest's list of files used by the test; no
part of the URL is ever joined onto a path, so ``../`` and absolute paths cannot reach
anything else. The manifest's content hash is the ETag, so a browser revalidates for
free and a re-rendered file is fetched again. Range requests (206) let players seek.

The open reference is served under its trial id rather than its file name: with the
file name the page would show which of the rated conditions is the hidden reference.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, abort, current_app, send_file

from webapp.study import study_status

bp = Blueprint("audio", __name__)

MIMETYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg"}


def _send(study, filename: str, etag: str):
    from dmc.contracts.manifest import ManifestError

    try:  # a symlink swapped into the render folder may lead outside it, or loop
        path = study.manifest.path_of(filename)
    except (ManifestError, OSError, RuntimeError):
        abort(404)
    if not path.is_file():
        abort(404)
    response = send_file(
        path,
        mimetype=MIMETYPES.get(path.suffix.lower(), "application/octet-stream"),
        conditional=True,
        etag=etag,
        max_age=current_app.config["AUDIO_MAX_AGE_S"],
        last_modified=None,
    )
    response.headers["Accept-Ranges"] = "bytes"
    response.cache_control.public = True
    return response


@bp.get("/audio/<path:filename>")
def file(filename: str):
    """One stimulus, by the opaque name the manifest gives it.

    :raise 404: the name is not an audio file of the test being served.
    """
    study = study_status().study
    if study is None:
        abort(404)
    sha256 = study.audio_files.get(filename)
    if sha256 is None:
        abort(404)
    return _send(study, filename, sha256)


@bp.get("/reference-audio/<path:trial_id>")
def reference(trial_id: str):
    """The open reference of a trial (an alias that does not reveal the hidden one).

    :raise 404: unknown trial, or the trial has no open reference.
    """
    study = study_status().study
    if study is None:
        abort(404)
    try:
        trial = study.design.trial(trial_id)
    except KeyError:
        abort(404)
    if trial.reference_method is None:
        abort(404)
    filename = trial.files[trial.reference_method]
    sha256 = study.manifest.files()[filename].sha256
    etag = hashlib.sha256(f"reference:{trial_id}:{sha256}".encode()).hexdigest()[:32]
    return _send(study, filename, etag)
