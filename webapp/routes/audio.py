"""Serving the stimuli blind: only files the manifest names, all of a trial alike.

A requested name is looked up in the manifest's list of files used by the test; no
part of the URL is ever joined onto a path, so ``../`` and absolute paths cannot reach
anything else. Range requests (206) let players seek.

Nothing passive may tell the conditions of a trial apart (ITU-R BS.1534-3 wants the
hidden reference and the systems unidentifiable), so every response is stripped of
what a browser's network panel would show: no file name (no ``Content-Disposition``),
no ``Last-Modified`` (render times differ by method), an ETag that is an opaque keyed
hash per URL, and the same byte length for every condition of a trial and its open
reference. Inside the MP3 the first and last 4 KiB are alike too: a tag of one size in
front, the encoder's Info frame with no field that describes this audio, zeros behind
(:mod:`webapp.services.blinding`); the decoded audio is unchanged.

The open reference is served under its trial id rather than its file name, and its tag
holds other bytes than the hidden reference's, so neither its URL nor its content
equals a rated letter's.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import Blueprint, Response, abort, current_app, request

from webapp.services.blinding import padded_audio
from webapp.services.calibration import pink_noise_mp3, reference_loudness, unrated_file
from webapp.services.headphones import answer_key, trial_audio
from webapp.services.raters import load_progress
from webapp.services.study import study_status

bp = Blueprint("audio", __name__)

MIMETYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg"}


def opaque_tag(*parts: str) -> str:
    """A keyed hash of ``parts`` (the URL and the content), for ETags and tag payloads."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, "\0".join(parts).encode(), hashlib.sha256).hexdigest()[:32]


def send_bytes(data: bytes, mimetype: str, etag: str) -> Response:
    """Bytes with an opaque ETag, caching, Range support and no name or date."""
    response = Response(data, mimetype=mimetype)
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["AUDIO_MAX_AGE_S"]
    return response.make_conditional(request, accept_ranges=True, complete_length=len(data))


def _send(study, filename: str, url: str):
    from dmc.contracts.manifest import ManifestError

    try:  # a symlink swapped into the render folder may lead outside it, or loop
        path = study.manifest.path_of(filename)
    except (ManifestError, OSError, RuntimeError):
        abort(404)
    if not path.is_file():
        abort(404)
    length = study.padded_sizes.get(filename)
    if length is None:  # unreadable when the test was loaded
        abort(404)
    sha256 = study.manifest.files()[filename].sha256
    tag = opaque_tag(url, sha256)
    data = padded_audio(path, length, tag.encode())
    mimetype = MIMETYPES.get(path.suffix.lower(), "application/octet-stream")
    return send_bytes(data, mimetype, opaque_tag("etag", url, sha256))


@bp.get("/audio/<path:filename>")
def file(filename: str):
    """One stimulus, by the opaque name the manifest gives it.

    :raise 404: the name is not an audio file of the test being served.
    """
    study = study_status().study
    if study is None:
        abort(404)
    if filename not in study.audio_files:
        abort(404)
    return _send(study, filename, request.path)


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
    return _send(study, trial.files[trial.reference_method], request.path)


@bp.get("/calibration-audio/<token>")
def calibration(token: str):
    """What the volume page plays: a mix this rater never rates, or generated pink noise.

    :raise 404: unknown rater link.
    """
    study = study_status().study
    if study is None:
        abort(404)
    progress = load_progress(token, study.design)
    if progress is None:
        abort(404)
    filename = unrated_file(progress, study)
    if filename is not None:
        return _send(study, filename, request.path)
    loudness = reference_loudness(study)
    data = pink_noise_mp3(loudness)
    return send_bytes(data, "audio/mpeg", opaque_tag("etag", request.path, f"noise:{loudness}"))


@bp.get("/headphone-audio/<token>/<int:number>")
def headphone_trial(token: str, number: int):
    """Trial ``number`` (0-based) of the rater's headphone check (:mod:`webapp.services.headphones`).

    :raise 404: unknown rater link, no headphone check in this test, or no such trial.
    """
    study = study_status().study
    if study is None:
        abort(404)
    spec = study.design.config.headphone_check
    if not spec.enabled or not 0 <= number < spec.trials:
        abort(404)
    if load_progress(token, study.design) is None:
        abort(404)
    order = answer_key(current_app.config["SECRET_KEY"], token, spec.trials)[number]
    return send_bytes(trial_audio(order), "audio/wav", opaque_tag("etag", request.path, *order))
