"""Serving stimuli: only the test's files, with Range requests, ETags and caching headers."""

from __future__ import annotations

import pytest

from dmc.contracts.manifest import load_manifest


@pytest.fixture
def files(render_dir):
    manifest = load_manifest(render_dir)
    passage = manifest.passage("drums", "song0@0000.00s")
    return {c.method: c for c in passage.conditions}


def test_audio_has_etag_from_the_manifest_and_cache_headers(client, files, render_dir):
    target = files["target"]
    with client.get(f"/audio/{target.file}") as response:
        assert response.status_code == 200 and response.mimetype == "audio/mpeg"
        assert response.headers["ETag"] == f'"{target.sha256}"'
        assert (
            "public" in response.headers["Cache-Control"]
            and "max-age=3600" in response.headers["Cache-Control"]
        )
        assert response.headers["Accept-Ranges"] == "bytes"
        assert response.data == (render_dir / target.file).read_bytes()
    with client.get(
        f"/audio/{target.file}", headers={"If-None-Match": f'"{target.sha256}"'}
    ) as response:
        assert response.status_code == 304 and response.data == b""


def test_range_requests_return_the_requested_bytes(client, files, render_dir):
    target = files["console"]
    data = (render_dir / target.file).read_bytes()
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
