"""How long ``python -m dmc.render testset`` takes, and where the time goes.

Run by hand (not a test): ``python benchmarks/bench_render.py [testset options]``.
It renders the default test set with ``--force`` into a temporary folder (unless
``--out`` is given) and prints, from the same run:

- data loading time (the demo data is generated once and cached; a cold cache is slow),
- the render's wall time against the 2-minute goal,
- per method: conditions, processing seconds (mix + normalise + encode + measure + score),
  real-time factor (processing seconds per second of audio) and that time relative to
  the mono baseline, the cheapest method, measured in the same run.

With ``--sequential-baseline`` it first renders the same set with no worker processes,
and prints the speed-up of the pipelined render over it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from dmc.render.cli import get_parser as render_parser
from dmc.render.planning import plan, render
from dmc.render.testset import RenderError

GOAL_SECONDS = 120.0


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sequential-baseline",
        action="store_true",
        help="also time a render without worker processes and print the speed-up",
    )
    return parser


def _timed_render(argv: list[str]) -> tuple[float, float, object]:
    args = render_parser().parse_args(argv)
    started = time.perf_counter()
    plans, notes = plan(args)
    loaded = time.perf_counter()
    for note in notes:
        print(f"note: {note}")
    result = render(args, plans)
    return loaded - started, time.perf_counter() - loaded, result


def main(argv: list[str] | None = None) -> int:
    ours, forwarded = get_parser().parse_known_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-render-") as scratch:
        if "--out" not in forwarded:
            forwarded += ["--out", str(Path(scratch) / "testset")]
        argv_render = ["testset", *forwarded, "--force", "--no-progress"]
        try:
            baseline_wall = None
            if ours.sequential_baseline:
                _, baseline_wall, _ = _timed_render([*argv_render, "--workers", "0"])
            load_seconds, wall, result = _timed_render(argv_render)
        except RenderError as exc:
            print(f"bench_render: {exc}", file=sys.stderr)
            return 2
    conditions = result.rendered
    audio = sum(result.audio_seconds.values())
    print(
        f"cpu cores: {os.cpu_count()}, load average: {', '.join(f'{v:.1f}' for v in os.getloadavg())}"
    )
    print(f"data loading: {load_seconds:.1f} s")
    print(
        f"render: {conditions} conditions, {audio:.0f} s of audio, wall {wall:.1f} s "
        f"= {wall / GOAL_SECONDS:.2f} x the {GOAL_SECONDS:.0f} s goal "
        f"(loading + render {load_seconds + wall:.1f} s)"
    )
    if baseline_wall is not None:
        print(
            f"sequential (no workers): wall {baseline_wall:.1f} s; pipelined is {baseline_wall / wall:.2f} x faster"
        )
    mono = result.method_seconds.get("mono")
    print(f"\n{'method':<12}{'conditions':>11}{'seconds':>9}{'RTF':>8}{'vs mono':>9}")
    for method, seconds in result.method_seconds.items():
        count = round(result.audio_seconds[method] / float(result.manifest.settings["seconds"]))
        ratio = f"{seconds / mono:.2f}" if mono else "-"
        rtf = seconds / result.audio_seconds[method]
        print(f"{method:<12}{count:>11}{seconds:>9.1f}{rtf:>8.3f}{ratio:>9}")
    print(
        "\nseconds: mix + normalise + encode + decode + measure + metrics, summed over conditions "
        "(workers overlap them, so they add up to more than the wall time)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
