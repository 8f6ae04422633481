"""``python -m dmc.mix --renderer dsp`` against ``tcn`` and ``chain`` on one song (by hand).

    python benchmarks/bench_mix_renderers.py [SONG_DIR] [--settings strong|console] [--seed 0]

What a user sees: the same parameters file rendered by each renderer through the real
command line (a fresh process each, wall time including start-up), and how far each
render is from the real effects' (``--renderer chain``), in dB of its energy. Without
``SONG_DIR`` the first demo test song of the full task, 10 s, is exported to a temporary
folder (``python -m dmc.datasets export-song``).

``--settings strong`` (default) draws every track's compressor and reverb where they are
clearly heard (ratio 3-8, threshold -40 to -20 dB, reverb wet 0.2-0.6, seeded), keeping
the console's EQ, gains and pans; ``console`` keeps the shipped console's own settings.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from dmc.audio import difference_db


def run(*argv: str) -> float:
    """Run ``python -m ...`` quietly; its wall time (s)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", *argv], check=True, capture_output=True)
    return time.perf_counter() - start


def strong(params: dict, seed: int) -> dict:
    """The parameters file with every track's compressor and reverb clearly engaged."""
    rng = np.random.default_rng(seed)
    for track in params["tracks"]:
        track["params"].update(
            comp_ratio=round(float(rng.uniform(3, 8)), 3),
            comp_threshold_db=round(float(rng.uniform(-40, -20)), 3),
            reverb_wet=round(float(rng.uniform(0.2, 0.6)), 3),
        )
    return params


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("song_dir", nargs="?", type=Path, default=None)
    parser.add_argument("--settings", choices=("strong", "console"), default="strong")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        song = args.song_dir
        if song is None:
            song = work / "song"
            run("dmc.datasets", "export-song", "--task", "full", "--split", "test",
                "--seconds", "10", str(song))  # fmt: skip
        t_console = run("dmc.mix", str(song), "--task", "full", "--params",
                        str(work / "console.json"), "--out", str(work / "console.wav"))  # fmt: skip
        params = json.loads((work / "console.json").read_text())
        if args.settings == "strong":
            params = strong(params, args.seed)
        edited = work / "edited.json"
        edited.write_text(json.dumps(params))
        times, mixes = {}, {}
        for renderer in ("chain", "dsp", "tcn"):
            out = work / f"{renderer}.wav"
            times[renderer] = run("dmc.mix", str(song), "--task", "full", "--from-params",
                                  str(edited), "--renderer", renderer, "--out", str(out))  # fmt: skip
            mixes[renderer], _ = sf.read(out, dtype="float64")
    tracks = len(params["tracks"])
    seconds = len(mixes["chain"]) / params["sample_rate"]
    print(
        f"{tracks} tracks x {seconds:.1f} s, settings: {args.settings}; `python -m dmc.mix` "
        f"with the console's own parameters took {t_console:.1f} s"
    )
    print("| renderer | wall s (fresh process) | vs tcn | difference from chain dB |")
    print("| --- | ---: | ---: | ---: |")
    reference = mixes["chain"]
    for renderer in ("tcn", "dsp", "chain"):
        error_db = difference_db(mixes[renderer], reference)
        print(
            f"| {renderer} | {times[renderer]:.1f} | {times['tcn'] / times[renderer]:.1f}x faster "
            f"| {error_db:.1f} |"
        )


if __name__ == "__main__":
    main()
