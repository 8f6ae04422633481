"""The real server (gunicorn by default, waitress on request): oversized bodies refused
before they are read, every worker answering, and unsafe settings refused at start."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

pytestmark = pytest.mark.slow

HUNDRED_MB = 100 * 1024 * 1024


@pytest.mark.parametrize("server", ["gunicorn", "waitress"])
def test_a_100_mb_body_is_refused_before_it_is_read(server_process, server):
    running = server_process(("--server", server, "--workers", "2", "--threads", "2")).start()
    assert f"server: {server}" in running.log.read_text()
    with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/raters HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {HUNDRED_MB}\r\n\r\n".encode()
            + b"{" * 4096
        )
        started = time.monotonic()
        answer = sock.recv(4096)
        assert time.monotonic() - started < 5
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    # The server still serves everyone else.
    with urllib.request.urlopen(f"{running.url}/healthz", timeout=5) as response:
        assert json.loads(response.read())["ok"] is True


def test_raters_created_through_several_worker_processes_share_one_sequence(server_process):
    running = server_process(("--workers", "2", "--threads", "2")).start()
    assert "server: gunicorn, 2 processes x 2 threads" in running.log.read_text()
    ids = []
    for _ in range(12):  # a new connection each time, so both workers take some
        request = urllib.request.Request(
            f"{running.url}/api/raters",
            data=json.dumps({"consent": True, "simulated": True}).encode(),
            headers={"Content-Type": "application/json", "Connection": "close"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
            ids.append(json.loads(response.read())["rater_id"])
    assert ids == [f"r{i:05d}" for i in range(1, 13)]


def test_serve_refuses_a_weak_admin_password(tmp_path, render_dir):
    result = subprocess.run(
        [sys.executable, "-m", "webapp", "serve", "--instance", str(tmp_path / "i"),
         "--manifest", str(render_dir)],
        capture_output=True, text=True, timeout=60, check=False,
        env={**__import__("os").environ, "DMC_ADMIN_PASSWORD": "admin"},
    )  # fmt: skip
    assert result.returncode == 2
    assert "DMC_ADMIN_PASSWORD: the admin password must have at least 10" in result.stderr
