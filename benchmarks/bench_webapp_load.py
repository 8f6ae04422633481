"""Load test of the listening-test web app: N concurrent simulated raters on loopback.

Starts a real ``python -m webapp serve`` (waitress, SQLite in WAL mode) on a free
loopback port with a small rendered test, then lets N raters (default 200) work
through it at once: create, fetch each trial, "listen" for a think time, submit, and
sometimes submit the same trial again (a double click). It reports throughput, the
p50/p90/p99 latency of rating submissions, and then checks the database: every
acknowledged trial must be stored with exactly the submitted values, and no rating may
be stored twice. A single rater with no competition runs first as the baseline; the
concurrent latencies are printed as ratios to it.

Run by hand (not a test):

    python benchmarks/bench_webapp_load.py                  # 200 raters, 2 s think time
    python benchmarks/bench_webapp_load.py --raters 50 --think-s 0   # saturation

Goal (issue 5): 200 concurrent raters, p99 < 100 ms per submission, zero lost.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

MAX_RATERS = 1000
LOOPBACK = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[1]


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--raters", type=int, default=200, help=f"concurrent raters (1-{MAX_RATERS}, default 200)"
    )
    parser.add_argument(
        "--trials", type=int, default=6, help="test trials per rater (default 6, plus 1 training)"
    )
    parser.add_argument(
        "--think-s",
        type=float,
        default=2.0,
        help="mean listening time per trial in seconds, uniform in [0.5x, 1.5x] (default 2)",
    )
    parser.add_argument(
        "--ramp-s",
        type=float,
        default=5.0,
        help="raters arrive spread evenly over this many seconds (default 5)",
    )
    parser.add_argument(
        "--double-submit",
        type=float,
        default=0.1,
        help="share of trials submitted twice (default 0.1)",
    )
    parser.add_argument(
        "--threads", type=int, default=8, help="waitress worker threads (default 8)"
    )
    parser.add_argument(
        "--synchronous",
        default="NORMAL",
        choices=["FULL", "NORMAL"],
        help="SQLite synchronous mode of the server (default NORMAL, the app's default)",
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def _render(folder: Path, passages: int) -> Path:
    """A small test set: ``passages`` drum passages with five 2 s conditions each."""
    import hashlib

    import numpy as np

    from dmc.audio import encode_mp3
    from dmc.contracts.manifest import Condition, Manifest, PassageEntry

    rng = np.random.default_rng(0)
    entries = []
    for i in range(passages):
        conditions = []
        for method in ("target", "console", "random", "mono", "anchor_7k"):
            name = f"audio/{hashlib.sha256(f'{i}{method}'.encode()).hexdigest()[:16]}.mp3"
            encode_mp3(
                folder / name, (0.1 * rng.standard_normal((2, 88200))).astype(np.float32), 44100
            )
            digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
            conditions.append(Condition(method, name, digest, -23.0, -3.0, 2.0))
        entries.append(PassageEntry(f"song{i}@0000.00s", f"song{i}", 0.0, 2.0, conditions))
    return Manifest({"drums": entries}, "2026-01-01T00:00:00Z", "bench", 44100).save(
        folder / "manifest.json"
    )


class Server:
    def __init__(self, manifest: Path, instance: Path, threads: int, synchronous: str) -> None:
        self.port = _free_port()
        env = {**os.environ, "DMC_SECRET_KEY": "b" * 48, "DMC_SQLITE_SYNCHRONOUS": synchronous}
        env.pop("DMC_DATABASE_URL", None)
        command = [
            sys.executable,
            "-m",
            "webapp",
            "serve",
            "--host",
            LOOPBACK,
            "--port",
            str(self.port),
            "--manifest",
            str(manifest),
            "--instance",
            str(instance),
            "--threads",
            str(threads),
            "--connection-limit",
            str(MAX_RATERS + 100),
        ]
        self.log = open(instance.parent / "server.log", "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if Client(self.port).call("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start; see server.log")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)
        self.log.close()


class Client:
    """One keep-alive HTTP connection, like one browser tab."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection(LOOPBACK, port, timeout=60)

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict, float]:
        data = None if body is None else json.dumps(body)
        start = time.perf_counter()
        self.connection.request(
            method, path, body=data, headers={"Content-Type": "application/json"}
        )
        response = self.connection.getresponse()
        payload = response.read()
        elapsed = time.perf_counter() - start
        self.server_ms = _server_timing_ms(response.getheader("Server-Timing", ""))
        return response.status, (json.loads(payload) if payload else {}), elapsed


def _server_timing_ms(header: str) -> float:
    """The ``app;dur=...`` entry of a Server-Timing header (the server's own time)."""
    for part in header.split(","):
        name, _, rest = part.strip().partition(";dur=")
        if name == "app" and rest:
            return float(rest)
    return float("nan")


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.server_ms: list[float] = []
        self.acknowledged: dict[tuple[str, str], dict] = {}
        self.errors: list[str] = []
        self.requests = 0


def simulate_rater(
    port: int,
    stats: Stats,
    think_s: float,
    double: float,
    seed: int,
    progress,
    delay_s: float = 0.0,
) -> None:
    rng = random.Random(seed)
    time.sleep(delay_s)
    client = Client(port)
    try:
        status, rater, _ = client.call("POST", "/api/raters", {"consent": True, "simulated": True})
        if status != 201:
            raise RuntimeError(f"create: {status} {rater}")
        token = rater["token"]
        intro = {"experience_years": 5, "role": "producer", "playback_device": "earbuds"}
        for step, body in (("questionnaire", intro), ("volume", {})):  # trials come after these
            status, answer, _ = client.call("POST", f"/api/raters/{token}/{step}", body)
            if status != 200:
                raise RuntimeError(f"{step}: {status} {answer}")
        _, info, _ = client.call("GET", f"/api/raters/{token}")
        requests = 4
        for trial_id in info["trial_ids"]:
            _, trial, _ = client.call("GET", f"/api/raters/{token}/trials/{trial_id}")
            time.sleep(rng.uniform(0.5, 1.5) * think_s)
            labels = [c["label"] for c in trial["conditions"]]
            body = {
                "ratings": {label: round(rng.random(), 2) for label in labels},
                "plays": {label: rng.randint(1, 4) for label in labels},
                "time_on_trial_ms": rng.randint(5000, 60000),
            }
            body["ratings"][rng.choice(labels)] = 1.0
            for _ in range(2 if rng.random() < double else 1):
                status, answer, elapsed = client.call(
                    "POST", f"/api/raters/{token}/trials/{trial_id}", body
                )
                requests += 2
                with stats.lock:
                    stats.latencies.append(elapsed)
                    stats.server_ms.append(client.server_ms)
                    if status == 200 and answer.get("saved"):
                        stats.acknowledged[(rater["rater_id"], trial_id)] = body["ratings"]
                    else:
                        stats.errors.append(f"{status} {answer}")
            progress.update(1)
        with stats.lock:
            stats.requests += requests
    except Exception as exc:  # noqa: BLE001 (counted and printed: an error is a result here)
        with stats.lock:
            stats.errors.append(repr(exc))


def run_phase(
    port: int, raters: int, args, seed: int, label: str, trials_each: int
) -> tuple[Stats, float]:
    from tqdm import tqdm

    stats = Stats()
    with tqdm(total=raters * trials_each, desc=label, unit="trial", leave=False) as progress:
        threads = [
            threading.Thread(
                target=simulate_rater,
                args=(
                    port,
                    stats,
                    args.think_s,
                    args.double_submit,
                    seed + i,
                    progress,
                    args.ramp_s * i / raters,
                ),
            )
            for i in range(raters)
        ]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
    return stats, elapsed


def verify(database_url: str, acknowledged: dict) -> tuple[int, int, int]:
    """(lost trials, trials with wrong values, duplicated rating rows) against the database."""
    from webapp.export import ratings_frame

    frame = ratings_frame(database_url)
    duplicated = int((frame.groupby(["rater_id", "trial_id", "method"]).size() - 1).sum())
    stored: dict[tuple[str, str], list[float]] = {}
    for row in frame.itertuples():
        stored.setdefault((row.rater_id, row.trial_id), []).append(row.rating)
    lost = sum(1 for key in acknowledged if key not in stored)
    wrong = sum(
        1
        for key, ratings in acknowledged.items()
        if key in stored and sorted(stored[key]) != sorted(ratings.values())
    )
    return lost, wrong, duplicated


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    if not 1 <= args.raters <= MAX_RATERS:
        print(
            f"error: --raters must be between 1 and {MAX_RATERS}, got {args.raters}",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="dmc-bench-") as tmp:
        folder = Path(tmp)
        manifest = _render(folder / "render", args.trials + 1)
        config = folder / "render" / "test.yaml"
        config.write_text(f"trials_per_rater: {args.trials}\ntraining:\n  trials: 1\n")
        server = Server(manifest, folder / "instance", args.threads, args.synchronous)
        database_url = f"sqlite:///{folder / 'instance' / 'dmc-listening.sqlite'}"
        trials_each = args.trials + 1
        try:
            base, _ = run_phase(
                server.port,
                1,
                argparse.Namespace(
                    **{**vars(args), "think_s": 0.0, "double_submit": 0.0, "ramp_s": 0.0}
                ),
                args.seed + 10_000,
                "baseline (1 rater)",
                trials_each,
            )
            cpu_before = server.cpu_seconds()
            stats, elapsed = run_phase(
                server.port, args.raters, args, args.seed, f"{args.raters} raters", trials_each
            )
            server_cpu = server.cpu_seconds() - cpu_before
        finally:
            server.stop()
        acknowledged = {**base.acknowledged, **stats.acknowledged}
        lost, wrong, duplicated = verify(database_url, acknowledged)
    lat_ms = [1000 * x for x in stats.latencies]
    base_ms = statistics.median(1000 * x for x in base.latencies)
    p50, p90, p99 = (_percentile(lat_ms, q) for q in (0.5, 0.9, 0.99))
    print(
        f"raters {args.raters} arriving over {args.ramp_s} s, trials each {trials_each}, "
        f"think time {args.think_s} s (x0.5-1.5), "
        f"double submits {args.double_submit:.0%}, waitress threads {args.threads}, "
        f"SQLite synchronous={args.synchronous}"
    )
    print(f"baseline (1 rater, no think time): submission p50 {base_ms:.1f} ms")
    print(
        f"submissions: {len(lat_ms)} in {elapsed:.1f} s = {len(lat_ms) / elapsed:.1f}/s; "
        f"all requests {stats.requests / elapsed:.1f}/s"
    )
    print(
        f"server CPU {server_cpu:.1f} s = "
        f"{1000 * server_cpu / max(1, stats.requests):.1f} ms per request; "
        f"load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"submission latency: p50 {p50:.1f} ms ({p50 / base_ms:.2f}x baseline), p90 {p90:.1f} ms, "
        f"p99 {p99:.1f} ms ({p99 / base_ms:.2f}x baseline), max {max(lat_ms):.1f} ms"
    )
    server_ms = [x for x in stats.server_ms if not math.isnan(x)]
    print(
        f"  inside the server (Server-Timing): p50 {_percentile(server_ms, 0.5):.1f} ms, "
        f"p99 {_percentile(server_ms, 0.99):.1f} ms; client CPU {time.process_time():.1f} s"
    )
    print(
        f"acknowledged trials {len(acknowledged)}; lost {lost}; wrong values {wrong}; "
        f"duplicated rating rows {duplicated}; "
        f"errors {len(stats.errors) + len(base.errors)}"
    )
    for error in (stats.errors + base.errors)[:5]:
        print(f"  error: {error}")
    goal = p99 < 100 and lost == 0 and duplicated == 0 and wrong == 0 and not stats.errors
    print(f"goal (p99 < 100 ms, nothing lost or duplicated): {'met' if goal else 'NOT met'}")
    return 0 if goal else 1


if __name__ == "__main__":
    raise SystemExit(main())
