"""Serving stimuli: only the test's files, blind, with Range requests, ETags and caching."""

from __future__ import annotations

import io
import math
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from dmc.contracts.manifest import load_manifest
from webapp.services.blinding import (
    EDGE_BYTES,
    ID3V1_TAG,
    ROUND_BYTES,
    existing_tag_bytes,
    id3_tag,
    info_fields,
    padded_audio,
)


@pytest.fixture
def files(render_dir):
    manifest = load_manifest(render_dir)
    passage = manifest.passage("drums", "song0@0000.00s")
    return {c.method: c for c in passage.conditions}


def test_audio_is_served_blind_with_an_opaque_etag_and_cache_headers(client, files, render_dir):
    target = files["target"]
    raw = (render_dir / target.file).read_bytes()
    with client.get(f"/audio/{target.file}") as response:
        assert response.status_code == 200 and response.mimetype == "audio/mpeg"
        etag = response.headers["ETag"]
        assert target.sha256 not in etag and len(etag.strip('"')) == 32
        assert (
            "public" in response.headers["Cache-Control"]
            and "max-age=3600" in response.headers["Cache-Control"]
        )
        assert response.headers["Accept-Ranges"] == "bytes"
        # Nothing names the file or dates the render; no server timing either.
        for header in ("Content-Disposition", "Last-Modified", "Server-Timing"):
            assert header not in response.headers
        # The rendered frames after the encoder's Info frame, unchanged; the length rounded.
        assert raw[info_fields(raw)["length"] :] in response.data
        assert len(response.data) % ROUND_BYTES == 0
    with client.get(f"/audio/{target.file}", headers={"If-None-Match": etag}) as response:
        assert response.status_code == 304 and response.data == b""


def test_every_condition_of_a_passage_has_the_same_length(client, files):
    lengths = set()
    for condition in files.values():
        if condition.method.startswith("anchor_"):  # not in the default test
            continue
        with client.get(f"/audio/{condition.file}") as response:
            lengths.add(len(response.data))
    assert len(lengths) == 1


def _decode_ffmpeg(path) -> np.ndarray:
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "2", "pipe:1"],
        capture_output=True,
        check=True,
    )
    return np.frombuffer(out.stdout, dtype=np.float32)


def test_padding_leaves_the_decoded_audio_unchanged(render_dir, files, tmp_path):
    source = render_dir / files["mono"].file
    raw = source.read_bytes()
    length = math.ceil((len(raw) + 2 * EDGE_BYTES) / ROUND_BYTES) * ROUND_BYTES + 5 * ROUND_BYTES
    padded = padded_audio(source, length, b"payload")
    assert len(padded) == length and padded.startswith(b"ID3\x04")
    assert existing_tag_bytes(padded) == EDGE_BYTES and padded.endswith(ID3V1_TAG)
    original, rate = sf.read(io.BytesIO(raw), dtype="float32")
    decoded, padded_rate = sf.read(io.BytesIO(padded), dtype="float32")
    assert padded_rate == rate and np.array_equal(decoded, original)
    assert decoded.shape[0] == round(files["mono"].duration_seconds * rate)  # gapless
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg): libsndfile alone checked")
    served = tmp_path / "served.mp3"
    served.write_bytes(padded)
    assert np.array_equal(_decode_ffmpeg(served), _decode_ffmpeg(source))
    # A file that already has an ID3v2 tag gets it replaced, not a second one.
    tagged = tmp_path / "tagged.mp3"
    tagged.write_bytes(id3_tag(b"old", 100) + raw)
    again = padded_audio(tagged, length, b"new")
    assert len(again) == length and existing_tag_bytes(again) == EDGE_BYTES
    assert again == padded_audio(source, length, b"new")


def test_range_requests_return_the_requested_bytes(client, files):
    target = files["console"]
    with client.get(f"/audio/{target.file}") as whole:
        data = whole.data
    with client.get(f"/audio/{target.file}", headers={"Range": "bytes=100-199"}) as response:
        assert response.status_code == 206
        assert response.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
        assert response.data == data[100:200]
    with client.get(
        f"/audio/{target.file}", headers={"Range": f"bytes={len(data) + 10}-"}
    ) as response:
        assert response.status_code == 416


@pytest.mark.parametrize(
    "path",
    [
        "/audio/manifest.json",
        "/audio/../manifest.json",
        "/audio/%2e%2e/manifest.json",
        "/audio/audio/../manifest.json",
        "/audio//etc/passwd",
        "/audio/%2Fetc%2Fpasswd",
        "/audio/audio/nothing.mp3",
        "/reference-audio/drums:song0@0000.00s",  # default test: no open reference
        "/reference-audio/../../manifest.json",
    ],
)
def test_nothing_outside_the_test_is_served(client, path):
    # Werkzeug first redirects "//" to "/" (308); following it must still end in a 404.
    with client.get(path, follow_redirects=True) as response:
        assert response.status_code == 404


def test_rendered_files_the_test_does_not_use_are_not_served(client, files):
    # The default test has no anchors, so their files stay private.
    with client.get(f"/audio/{files['anchor_3k5'].file}") as response:
        assert response.status_code == 404
    with client.get(f"/audio/{files['mono'].file}") as response:
        assert response.status_code == 200


def test_a_file_grown_since_the_lengths_were_worked_out_still_gets_a_tag(render_dir, files):
    source = render_dir / files["console"].file
    raw = source.read_bytes()
    grown = padded_audio(source, len(raw), b"payload")  # no room left for the tag
    assert raw[info_fields(raw)["length"] :] in grown and len(grown) % ROUND_BYTES == 0
    assert existing_tag_bytes(grown) == EDGE_BYTES
    assert grown.endswith(bytes(EDGE_BYTES - len(ID3V1_TAG)) + ID3V1_TAG)
