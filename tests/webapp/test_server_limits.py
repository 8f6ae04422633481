"""The real server (gunicorn by default, waitress on request): oversized bodies refused
before they are read (with a length or chunked), every worker answering, and unsafe
settings (a weak admin password, a secret key under 32 characters from any source)
refused at start in one line."""

from __future__ import annotations

import json
import os
import select
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


def _send_chunked(port: int, total: int, chunk: int = 64 * 1024) -> tuple[bytes, int]:
    """POST a chunked JSON body of up to ``total`` bytes (no Content-Length); stop sending
    as soon as the server answers. Returns the answer's start and the bytes sent."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            b"POST /api/raters HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        piece = f"{chunk:x}\r\n".encode() + b"[" * chunk + b"\r\n"
        try:
            while sent < total:
                if select.select([sock], [], [], 0)[0]:
                    break  # answered before the end of the body
                sock.sendall(piece)
                sent += chunk
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed after answering
        return sock.recv(4096), sent


@pytest.mark.parametrize("server", ["gunicorn", "waitress"])
def test_a_chunked_body_over_the_limit_is_refused_with_413(server_process, server):
    running = server_process(("--server", server, "--workers", "1", "--threads", "2")).start()
    answer, sent = _send_chunked(running.port, HUNDRED_MB)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert sent < HUNDRED_MB // 10  # refused early, not after reading everything
    # A small chunked body is read as any other: a new rater.
    with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
        body = json.dumps({"consent": True, "simulated": True}).encode()
        sock.sendall(
            b"POST /api/raters HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            + f"{len(body):x}\r\n".encode()
            + body
            + b"\r\n0\r\n\r\n"
        )
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 201"), answer[:300]


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


@pytest.mark.parametrize("length", [1, 31])
def test_a_short_secret_key_is_refused_from_any_source(make_app, tmp_path, monkeypatch, length):
    key = "k" * length
    monkeypatch.setenv("DMC_SECRET_KEY", key)
    with pytest.raises(ValueError, match=f"^DMC_SECRET_KEY holds a secret key of {length} ch"):
        make_app()
    monkeypatch.delenv("DMC_SECRET_KEY")
    with pytest.raises(ValueError, match="^SECRET_KEY in the instance config holds a secret"):
        make_app(SECRET_KEY=key)
    (tmp_path / "instance").mkdir(exist_ok=True)
    (tmp_path / "instance" / "secret_key").write_text(key + "\n")
    with pytest.raises(ValueError, match="secret_key holds a secret key of .* delete the file"):
        make_app(SECRET_KEY=None)
    (tmp_path / "instance" / "secret_key").write_text("k" * 32 + "\n")
    assert make_app(SECRET_KEY=None).config["SECRET_KEY"] == "k" * 32  # 32 is enough


@pytest.mark.parametrize("source", ["environment", "instance file"])
def test_serve_refuses_a_short_secret_key_in_one_line(tmp_path, render_dir, source):
    env = {**os.environ, "DMC_SECRET_KEY": "x"}
    if source == "instance file":
        env.pop("DMC_SECRET_KEY")
        (tmp_path / "i").mkdir()
        (tmp_path / "i" / "secret_key").write_text("short\n")
    with socket.socket() as probe:  # a port that is free, so only the key can fail
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = subprocess.run(
        [sys.executable, "-m", "webapp", "serve", "--instance", str(tmp_path / "i"),
         "--manifest", str(render_dir), "--port", str(port)],
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()  # one line, no traceback
    expected = "DMC_SECRET_KEY holds" if source == "environment" else "secret_key holds"
    assert line.startswith("python -m webapp serve: error: ") and expected in line
    assert "use at least 32" in line
