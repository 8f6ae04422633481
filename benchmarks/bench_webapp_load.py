"""Load test of the listening-test web app: a launch burst of simulated raters on loopback.

Starts a real ``python -m webapp serve`` on a free loopback port with a small rendered
test (SQLite in a temporary instance folder, or PostgreSQL with ``--database-url``, in a
schema of its own that is dropped afterwards), and lets N raters work through it as a
browser would: start, answer the questionnaire, confirm the volume, then per trial load
the page, fetch every condition's audio, "listen" for a think time and submit. Some
trials are submitted twice with the same body (a double click) and some are then sent
again with different ratings (a stale tab: the server must either refuse it with 409 or
store it whole). Each rater comes from its own address (``X-Forwarded-For`` through
``--behind-proxy``), as raters of a crowdsourcing platform do.

``--mode burst`` lets the raters arrive at random moments within ``--arrive-s`` (0: all
at once); ``--mode ramp`` spreads them evenly. ``--kill-at-s T`` kills the whole server
(``kill -9`` of its process group) T seconds into the run and starts it again on the
same port; raters retry like the page does, and the report compares acknowledged with
stored ratings.

Afterwards the database is checked by direct SQL on the rating rows, not through the
app's export: every acknowledged (rater, trial, letter) must have exactly one row with
the acknowledged value and the method that this rater's own letter stood for, no
(rater, trial, method) may be stored twice, and no rating row may lack its trial
result. A single rater with no think time runs first as the baseline; latencies are
printed as ratios to it. Bounded: at most 1000 raters and ``--max-s`` seconds.

Run by hand (loopback only; see docs/webapp.md for measured figures):

    python benchmarks/bench_webapp_load.py                                   # 500 in 10 s
    python benchmarks/bench_webapp_load.py --raters 200 --think-s 0 --arrive-s 0
    python benchmarks/bench_webapp_load.py --database-url postgresql+psycopg://...
    python benchmarks/bench_webapp_load.py --raters 100 --kill-at-s 20
    python benchmarks/bench_webapp_load.py --server waitress --workers 1     # the old setting

Goal (issue 16): with think time, p99 < 200 ms per submission; always: no client
timeouts, nothing lost, wrong or duplicated.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from pathlib import Path

MAX_RATERS = 1000
LOOPBACK = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[1]
CLIENT_TIMEOUT_S = 30.0
#: A browser drops a keep-alive connection it left idle this long (the server closes it at 5 s).
IDLE_RECONNECT_S = 4.0
GOAL_P99_MS = 200.0
INTRO = {"experience_years": "5", "role": "producer", "playback_device": "earbuds"}


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--raters", type=int, default=500, help=f"raters (1-{MAX_RATERS}, default 500)")
    add("--mode", choices=("burst", "ramp"), default="burst", help="arrivals (default burst)")
    add("--arrive-s", type=float, default=10.0, help="arrival window in s (default 10)")
    add("--trials", type=int, default=6, help="test trials per rater (default 6, + 1 training)")
    add("--passage-s", type=float, default=5.0, help="audio length per condition (default 5 s)")
    add(
        "--think-s",
        type=float,
        default=30.0,
        help="mean listening time per trial in s, uniform in [0.5x, 1.5x] (default 30: "
        "playing each of the five 5 s conditions once takes 25 s)",
    )
    add("--double-submit", type=float, default=0.1, help="share sent twice alike (0.1)")
    add("--overwrite", type=float, default=0.05, help="share sent again changed (0.05)")
    add("--audio", action=argparse.BooleanOptionalAction, default=True, help="fetch audio")
    add("--server", choices=("gunicorn", "waitress"), default="gunicorn")
    add("--workers", type=int, default=2, help="server processes (gunicorn; default 2)")
    add("--threads", type=int, default=8, help="threads per server process (default 8)")
    add("--database-url", default=None, help="PostgreSQL URL (default: SQLite in a temp dir)")
    add("--synchronous", choices=("FULL", "NORMAL"), default="NORMAL", help="SQLite mode")
    add("--kill-at-s", type=float, default=None, help="kill -9 and restart the server at T s")
    add("--max-s", type=float, default=900.0, help="stop every rater after this (default 900)")
    add("--seed", type=int, default=0)
    return parser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def _render(folder: Path, passages: int, seconds: float) -> Path:
    """``passages`` drum passages with five conditions of ``seconds`` each, as VBR MP3."""
    import hashlib

    import numpy as np

    from dmc.audio import encode_mp3
    from dmc.contracts.manifest import Condition, Manifest, PassageEntry

    rng = np.random.default_rng(0)
    samples = int(44100 * seconds)
    entries = []
    for i in range(passages):
        conditions = []
        for method in ("target", "console", "random", "mono", "anchor_7k"):
            name = f"audio/{hashlib.sha256(f'{i}{method}'.encode()).hexdigest()[:16]}.mp3"
            noise = 0.1 * rng.standard_normal((2, samples)).astype(np.float32)
            encode_mp3(folder / name, noise, 44100)
            digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
            conditions.append(Condition(method, name, digest, -23.0, -3.0, seconds))
        entries.append(PassageEntry(f"song{i}@0000.00s", f"song{i}", 0.0, seconds, conditions))
    return Manifest({"drums": entries}, "2026-01-01T00:00:00Z", "bench", 44100).save(
        folder / "manifest.json"
    )


class PostgresSchema:
    """A schema of its own in the given database (dropped at the end): nothing else is touched."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine, text

        self.name = f"dmc_bench_{os.getpid()}"
        self.admin = create_engine(url)
        with self.admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {self.name}"))
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qsl(parts.query) + [("options", f"-csearch_path={self.name}")]
        self.url = urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))

    def drop(self) -> None:
        from sqlalchemy import text

        with self.admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {self.name} CASCADE"))
        self.admin.dispose()


class Server:
    """``python -m webapp serve`` in its own process group (so kill -9 takes every worker)."""

    def __init__(self, args, manifest: Path, instance: Path, database_url: str | None) -> None:
        self.port = _free_port()
        self.env = {
            **os.environ,
            "DMC_SECRET_KEY": "b" * 48,
            "DMC_SQLITE_SYNCHRONOUS": args.synchronous,
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("DMC_DATABASE_URL", "DMC_ADMIN_PASSWORD", "DMC_PUBLIC_URL", "DMC_MANIFEST"):
            self.env.pop(name, None)
        self.command = [
            sys.executable, "-m", "webapp", "serve", "--host", LOOPBACK, "--port",
            str(self.port), "--manifest", str(manifest), "--instance", str(instance),
            "--server", args.server, "--workers", str(args.workers), "--threads",
            str(args.threads), "--connection-limit", str(MAX_RATERS + 100), "--behind-proxy",
        ]  # fmt: skip
        if database_url:
            self.command += ["--database-url", database_url]
        self.log_path = instance.parent / "server.log"
        self.log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited; see {self.log_path}")
            try:
                if Client(self.port, "127.0.0.2").call("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"the server did not start; see {self.log_path}")

    def pids(self) -> list[int]:
        """The server's processes (its group): the parent and its workers."""
        out = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if os.getpgid(int(entry.name)) == self.process.pid:
                        out.append(int(entry.name))
                except OSError:
                    continue
        return out

    def cpu_seconds(self) -> float:
        """User + system CPU time of every server process so far (Linux /proc)."""
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
        return total / os.sysconf("SC_CLK_TCK")

    def kill9(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        deadline = time.monotonic() + 10
        while self.pids() and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


class Client:
    """One keep-alive HTTP connection, like one browser tab, from its own address."""

    def __init__(self, port: int, address: str) -> None:
        self.port, self.address = port, address
        self.connection = http.client.HTTPConnection(LOOPBACK, port, timeout=CLIENT_TIMEOUT_S)
        self.server_ms = float("nan")
        self.last_used = time.monotonic()

    def call(self, method: str, path: str, body=None, form: bool = False):
        """(status, parsed JSON or text or byte count, seconds)."""
        headers = {"X-Forwarded-For": self.address}
        if body is not None and form:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        else:
            data = None
        if time.monotonic() - self.last_used > IDLE_RECONNECT_S:
            self.connection.close()  # a new connection, as a browser opens after a pause
        start = time.perf_counter()
        try:
            self.connection.request(method, path, body=data, headers=headers)
            response = self.connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()  # reconnect on the next call
            raise
        elapsed = time.perf_counter() - start
        self.last_used = time.monotonic()
        self.server_ms = _server_timing_ms(response.getheader("Server-Timing", ""))
        kind = response.getheader("Content-Type", "")
        if kind.startswith("application/json"):
            parsed = json.loads(payload) if payload else {}
        elif kind.startswith("text/"):
            parsed = payload.decode("utf-8", "replace")
        else:
            parsed = len(payload)
        return response.status, parsed, elapsed


def _server_timing_ms(header: str) -> float:
    for part in header.split(","):
        name, _, rest = part.strip().partition(";dur=")
        if name == "app" and rest:
            return float(rest)
    return float("nan")


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.server_ms: list[float] = []
        #: (rater_id, trial_id) -> {letter: value} of the last acknowledged submission.
        self.acknowledged: dict[tuple[str, str], dict[str, float]] = {}
        self.statuses: Counter = Counter()
        self.errors: list[str] = []
        self.timeouts = 0
        self.retries = 0
        self.requests = 0
        self.refused_overwrites = 0
        self.accepted_overwrites = 0
        self.finished = 0


class Rater:
    """One simulated rater: retries failed requests like the page does (for up to 60 s)."""

    def __init__(self, port: int, address: str, stats: Stats, deadline: float) -> None:
        self.client = Client(port, address)
        self.stats, self.deadline = stats, deadline

    def call(self, kind: str, method: str, path: str, body=None, form: bool = False):
        give_up = min(self.deadline, time.monotonic() + 60)
        while True:
            try:
                status, parsed, elapsed = self.client.call(method, path, body, form)
            except TimeoutError:
                with self.stats.lock:
                    self.stats.timeouts += 1
                    self.stats.retries += 1
            except (OSError, http.client.HTTPException):
                with self.stats.lock:
                    self.stats.retries += 1
            else:
                if status not in (502, 503):
                    with self.stats.lock:
                        self.stats.requests += 1
                        self.stats.statuses[(kind, status)] += 1
                        self.stats.latency[kind].append(elapsed)
                        if kind == "submit":
                            self.stats.server_ms.append(self.client.server_ms)
                    return status, parsed
            if time.monotonic() > give_up:
                raise RuntimeError(f"{kind}: no answer within 60 s")
            time.sleep(0.5)


def _trial_data(page: str) -> dict | None:
    found = re.search(r'<script id="trial-data" type="application/json">(.*?)</script>', page)
    return json.loads(found.group(1)) if found else None


def simulate_rater(port: int, stats: Stats, args, seed: int, delay_s: float, deadline: float):
    rng = random.Random(seed)
    time.sleep(delay_s)
    address = f"10.{(seed >> 16) & 255}.{(seed >> 8) & 255}.{seed & 255}"
    rater = Rater(port, address, stats, deadline)
    try:
        status, created = rater.call(
            "create", "POST", "/api/raters", {"consent": True, "simulated": True}
        )
        if status != 201:
            raise RuntimeError(f"create: {status} {created}")
        token, rater_id = created["token"], created["rater_id"]
        for step, form in (("questionnaire", INTRO), ("volume", {"volume_ok": "yes"})):
            status, _ = rater.call(step, "POST", f"/r/{token}/{step}", form, form=True)
            if status not in (200, 303):
                raise RuntimeError(f"{step}: {status}")
        while time.monotonic() < deadline:
            status, page = rater.call("page", "GET", f"/r/{token}")
            trial = _trial_data(page) if isinstance(page, str) else None
            if trial is None:
                break  # past the last trial: the comments page
            if args.audio:
                urls = [c["url"] for c in trial["conditions"]]
                urls += [trial["reference_url"]] if trial.get("reference_url") else []
                for url in urls:
                    rater.call("audio", "GET", url)
            time.sleep(rng.uniform(0.5, 1.5) * args.think_s)
            labels = [c["label"] for c in trial["conditions"]]
            body = {
                "ratings": {label: round(rng.random(), 2) for label in labels},
                "plays": dict.fromkeys(labels, rng.randint(1, 4)),
                "time_on_trial_ms": rng.randint(5000, 60000),
            }
            body["ratings"][rng.choice(labels)] = 1.0
            if trial.get("reference_url"):
                body["plays"]["reference"] = 1
            _submit(rater, stats, rater_id, trial, body)
            if rng.random() < args.double_submit:
                _submit(rater, stats, rater_id, trial, body)
            if rng.random() < args.overwrite:
                changed = {
                    **body,
                    "ratings": {k: round(1 - v, 2) for k, v in body["ratings"].items()},
                }
                changed["ratings"][labels[0]] = 1.0
                accepted = _submit(rater, stats, rater_id, trial, changed)
                with stats.lock:
                    if accepted:
                        stats.accepted_overwrites += 1
                    else:
                        stats.refused_overwrites += 1
        with stats.lock:
            stats.finished += 1
    except Exception as exc:  # noqa: BLE001 (counted and printed: an error is a result here)
        with stats.lock:
            stats.errors.append(repr(exc)[:300])


def _submit(rater: Rater, stats: Stats, rater_id: str, trial: dict, body: dict) -> bool:
    """Send one submission; an acknowledged one replaces the expected values."""
    status, answer = rater.call("submit", "POST", trial["submit_url"], body)
    if status == 200 and isinstance(answer, dict) and answer.get("saved"):
        with stats.lock:
            stats.acknowledged[(rater_id, trial["trial_id"])] = dict(body["ratings"])
        return True
    if status != 409:
        with stats.lock:
            stats.errors.append(f"submit {status} {str(answer)[:200]}")
    return False


def run_phase(port: int, raters: int, args, seed: int, server=None) -> tuple[Stats, float, dict]:
    stats = Stats()
    rng = random.Random(seed)
    if args.mode == "ramp":
        delays = [args.arrive_s * i / raters for i in range(raters)]
    else:
        delays = sorted(rng.uniform(0, args.arrive_s) for _ in range(raters))
    start = time.monotonic()
    deadline = start + args.max_s
    threads = [
        threading.Thread(
            target=simulate_rater, args=(port, stats, args, seed + i, delays[i], deadline),
            daemon=True,
        )
        for i in range(raters)
    ]  # fmt: skip
    for t in threads:
        t.start()
    kill = {}
    if server is not None and args.kill_at_s is not None:
        time.sleep(max(0.0, start + args.kill_at_s - time.monotonic()))
        with stats.lock:
            kill["acknowledged_before"] = len(stats.acknowledged)
        killed = time.monotonic()
        server.kill9()
        server.start()
        kill["down_s"] = time.monotonic() - killed
    for t in threads:
        t.join(max(1.0, deadline - time.monotonic() + 120))
    return stats, time.monotonic() - start, kill


def verify(database_url: str, acknowledged: dict) -> dict[str, int]:
    """Direct SQL on the rating rows against what the server acknowledged."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            raters = dict(connection.execute(text("SELECT id, rater_id FROM rater")).all())
            labels = {
                (raters[pk], trial): json.loads(labels_json)
                for pk, trial, labels_json in connection.execute(
                    text("SELECT rater_pk, trial_id, labels_json FROM assignment")
                )
            }
            ratings = connection.execute(
                text("SELECT rater_pk, trial_id, label, method, rating FROM rating")
            ).all()
            results = {
                (raters[pk], trial)
                for pk, trial in connection.execute(
                    text("SELECT rater_pk, trial_id FROM trial_result")
                )
            }
    finally:
        engine.dispose()
    by_letter: dict[tuple[str, str, str], list[tuple[str, float]]] = defaultdict(list)
    by_method: Counter = Counter()
    for pk, trial, label, method, rating in ratings:
        by_letter[(raters[pk], trial, label)].append((method, rating))
        by_method[(pk, trial, method)] += 1
    report = Counter(dict.fromkeys(("lost", "duplicated", "wrong value", "wrong method"), 0))
    for (rater_id, trial), values in acknowledged.items():
        for letter, value in values.items():
            rows = by_letter.get((rater_id, trial, letter), [])
            if not rows:
                report["lost"] += 1
            elif len(rows) > 1:
                report["duplicated"] += 1
            elif abs(rows[0][1] - value) > 1e-9:
                report["wrong value"] += 1
            elif rows[0][0] != labels[(rater_id, trial)][letter]:
                report["wrong method"] += 1
    report["duplicated (rater, trial, method)"] = sum(n - 1 for n in by_method.values() if n > 1)
    report["rating rows without a trial result"] = sum(
        1 for (rater_id, trial, _), _rows in by_letter.items() if (rater_id, trial) not in results
    )
    report["stored trials never acknowledged"] = len(
        {(r, t) for (r, t, _) in by_letter} - set(acknowledged)
    )
    report["rating rows"] = len(ratings)
    return report


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def _summary(values_s: list[float]) -> str:
    ms = [1000 * x for x in values_s]
    if not ms:
        return "none"
    return (
        f"n {len(ms)}, p50 {_percentile(ms, 0.5):.1f} ms, p90 {_percentile(ms, 0.9):.1f}, "
        f"p99 {_percentile(ms, 0.99):.1f}, max {max(ms):.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    if not 1 <= args.raters <= MAX_RATERS:
        print(f"error: --raters must be 1-{MAX_RATERS}, got {args.raters}", file=sys.stderr)
        return 2
    if args.database_url and not args.database_url.startswith("postgresql"):
        print("error: --database-url must be a PostgreSQL URL", file=sys.stderr)
        return 2
    schema = PostgresSchema(args.database_url) if args.database_url else None
    load_before = os.getloadavg()
    try:
        with tempfile.TemporaryDirectory(prefix="dmc-bench-") as tmp:
            folder = Path(tmp)
            manifest = _render(folder / "render", args.trials + 1, args.passage_s)
            (folder / "render" / "test.yaml").write_text(
                f"trials_per_rater: {args.trials}\ntraining:\n  trials: 1\n"
            )
            instance = folder / "instance"
            instance.mkdir()
            database_url = (
                schema.url if schema else f"sqlite:///{instance / 'dmc-listening.sqlite'}"
            )
            server = Server(args, manifest, instance, schema.url if schema else None)
            try:
                base_args = argparse.Namespace(
                    **{**vars(args), "think_s": 0.0, "double_submit": 0.0, "overwrite": 0.0,
                       "arrive_s": 0.0, "kill_at_s": None}
                )  # fmt: skip
                base, _, _ = run_phase(server.port, 1, base_args, args.seed + 100_000)
                cpu_before = server.cpu_seconds()
                stats, elapsed, kill = run_phase(server.port, args.raters, args, args.seed, server)
                server_cpu = server.cpu_seconds() - cpu_before
            finally:
                server.stop()
            acknowledged = {**base.acknowledged, **stats.acknowledged}
            report = verify(database_url, acknowledged)
    finally:
        if schema:
            schema.drop()
    return _print(args, base, stats, elapsed, server_cpu, kill, acknowledged, report, load_before)


def _print(args, base, stats, elapsed, server_cpu, kill, acknowledged, report, load_before) -> int:
    submit = stats.latency["submit"]
    base_p50 = statistics.median(1000 * x for x in base.latency["submit"])
    p99 = _percentile([1000 * x for x in submit], 0.99)
    database = "PostgreSQL" if args.database_url else f"SQLite synchronous={args.synchronous}"
    print(
        f"{args.raters} raters, {args.mode} over {args.arrive_s:g} s, {args.trials + 1} trials "
        f"each, think {args.think_s:g} s (x0.5-1.5), audio {'on' if args.audio else 'off'} "
        f"({args.passage_s:g} s x 5 conditions), double submits {args.double_submit:.0%}, "
        f"changed resubmits {args.overwrite:.0%}"
    )
    print(
        f"server: {args.server}, {args.workers if args.server == 'gunicorn' else 1} process(es) "
        f"x {args.threads} threads; {database}; {os.cpu_count()} cores; load average "
        f"{load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    print(f"baseline (1 rater, no think time): submission p50 {base_p50:.1f} ms")
    print(
        f"{stats.requests} requests in {elapsed:.1f} s ({stats.requests / elapsed:.1f}/s), "
        f"{len(submit)} submissions ({len(submit) / elapsed:.1f}/s); server CPU "
        f"{server_cpu:.1f} s ({1000 * server_cpu / max(1, stats.requests):.2f} ms per request); "
        f"load generator CPU {time.process_time():.1f} s"
    )
    for kind in ("submit", "page", "audio", "create"):
        print(f"  {kind:7s} {_summary(stats.latency[kind])}")
    submit_ms = [1000 * x for x in submit]
    print(
        f"  submission p50 {_percentile(submit_ms, 0.5) / base_p50:.2f}x baseline, "
        f"p99 {p99 / base_p50:.2f}x baseline; inside the server (Server-Timing) p99 "
        f"{_percentile([x for x in stats.server_ms if not math.isnan(x)], 0.99):.1f} ms"
    )
    statuses = ", ".join(f"{k}:{s} x{n}" for (k, s), n in sorted(stats.statuses.items()))
    print(f"  statuses: {statuses}")
    print(
        f"raters finished {stats.finished}/{args.raters}; client timeouts {stats.timeouts}; "
        f"retried requests {stats.retries}; changed resubmits accepted "
        f"{stats.accepted_overwrites}, refused {stats.refused_overwrites}; errors "
        f"{len(stats.errors) + len(base.errors)}"
    )
    for error in (stats.errors + base.errors)[:5]:
        print(f"  error: {error}")
    if kill:
        print(
            f"kill -9 at {args.kill_at_s:g} s: {kill['acknowledged_before']} trials acknowledged "
            f"before it; server back after {kill['down_s']:.1f} s"
        )
    stored = report["rating rows"]
    letters = sum(len(v) for v in acknowledged.values())
    print(
        f"database (direct SQL): {len(acknowledged)} acknowledged trials = {letters} ratings; "
        f"{stored} rating rows stored; "
        + "; ".join(f"{k} {v}" for k, v in report.items() if k != "rating rows")
    )
    bad = sum(
        report[k] for k in report if k not in ("rating rows", "stored trials never acknowledged")
    )
    # Without think time every rater sends its next request the moment the last one is
    # answered (a closed loop at saturation): latency then only measures the queue, and
    # the goal is that everyone is served (no timeouts) and nothing is lost.
    timed = args.think_s > 0 and not kill
    goal = stats.timeouts == 0 and bad == 0 and not stats.errors
    goal = goal and (p99 < GOAL_P99_MS or not timed)
    if kill:
        goal = bad == 0 and not stats.errors
    judged = f"p99 < {GOAL_P99_MS:g} ms, " if timed else "latency not judged, "
    print(
        f"goal ({judged}no client timeouts, nothing lost, wrong or duplicated): "
        f"{'met' if goal else 'NOT met'}"
    )
    return 0 if goal else 1


if __name__ == "__main__":
    raise SystemExit(main())
