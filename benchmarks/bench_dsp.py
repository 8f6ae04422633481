"""The exact effects (dmc.dsp) against the TCN and the real chain, measured in one run (by hand).

    python benchmarks/bench_dsp.py [--threads 2] [--tracks 8] [--seconds 10]
    python benchmarks/bench_dsp.py --song      # also a 5-minute, 16-track song, both consoles

Three measurements, each printed beside its baseline from the same run:

1. the effect section (EQ, compressor, reverb) on ``--tracks`` x ``--seconds``: seconds
   per track-second for the TCN (``dmc/checkpoints/tcn10.pt``), the exact effects and the
   real chain (pedalboard, one track at a time);
2. a training step's effect work, forward and backward on 4 x 1 s (the shape the TCN
   issue measured) and on a console batch (4 items x 8 tracks x 2 s);
3. ``--song``: a whole 5-minute, 16-track song mixed by a full console with each back-end
   (parameters predicted, every track rendered), in fresh processes, with peak memory.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

import numpy as np
import torch

from dmc import SAMPLE_RATE, dsp
from dmc.audio import difference_db
from dmc.console import DifferentiableMixingConsole
from dmc.effects.chain import process_channel
from dmc.effects.params import CHANNEL_STRIP, TCN_PARAMETERS
from dmc.mixers.console import ConsoleMixer
from dmc.pretrained import checkpoint_path, load_model


def program(count: int, seconds: float, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    audio = rng.standard_normal((count, int(seconds * SAMPLE_RATE)), dtype=np.float32)
    audio *= 0.1  # in place: a 16-track, 5-minute song is 0.85 GB, and its peak memory is measured
    return torch.from_numpy(audio)


def settings(count: int, seed: int = 1) -> torch.Tensor:
    """Random effect settings in range, real units ``(count, 22)``."""
    rng = np.random.default_rng(seed)
    return torch.tensor(TCN_PARAMETERS.denormalize(rng.random((count, 22))), dtype=torch.float32)


def timed(fn, repeats: int = 3) -> tuple[float, object]:
    """Best wall time of ``repeats`` calls after one warm-up (compilation, caches), and
    what the last call returned."""
    result = fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def section_speed(tracks: int, seconds: float) -> None:
    audio, params = program(tracks, seconds), settings(tracks)
    tcn = load_model(checkpoint_path("tcn10")).eval()
    normalised = TCN_PARAMETERS.normalize(params).clamp(0, 1)
    track_seconds = tracks * seconds
    with torch.no_grad():
        t_tcn, tcn_out = timed(lambda: tcn(audio[:, None], normalised), repeats=1)
        t_dsp, dsp_out = timed(lambda: dsp.process(audio, params, SAMPLE_RATE))
    outputs = {"tcn": tcn_out[:, 0].numpy(), "dsp": dsp_out.numpy()}
    names = TCN_PARAMETERS.names

    def chain():
        return np.stack(
            [
                process_channel(
                    row,
                    SAMPLE_RATE,
                    dict(zip(names, map(float, p))),
                    ("eq", "compressor", "reverb"),
                )
                for row, p in zip(audio.numpy(), params.numpy())
            ]
        )

    t_chain, reference = timed(chain, repeats=1)
    print(
        f"\n1. effect section, {tracks} tracks x {seconds:g} s, settings uniform in range "
        "(s per track-second, lower is faster; error: the difference from the real chain's "
        "output, dB of its energy)"
    )
    print("| effects | s per track-second | vs TCN | error vs real chain dB |")
    print("| --- | ---: | ---: | ---: |")
    for name, t, error in (
        ("TCN-10 (shipped, 16 ch)", t_tcn, difference_db(outputs["tcn"], reference)),
        ("exact DSP (dmc.dsp)", t_dsp, difference_db(outputs["dsp"], reference)),
        ("real chain (pedalboard)", t_chain, float("-inf")),
    ):
        print(f"| {name} | {t / track_seconds:.4f} | {t_tcn / t:.1f}x faster | {error:.1f} |")


def step_speed() -> None:
    tcn = load_model(checkpoint_path("tcn10")).eval().requires_grad_(False)
    print("\n2. a training step's effect work, forward + backward (s)")
    print("| batch | TCN-10 | exact DSP | TCN / DSP |")
    print("| --- | ---: | ---: | ---: |")
    for label, rows, seconds in (("4 x 1 s", 4, 1.0), ("4 items x 8 tracks x 2 s", 32, 2.0)):
        audio, params = program(rows, seconds), settings(rows)

        def through_tcn(audio=audio, params=params):
            p = TCN_PARAMETERS.normalize(params).clamp(0, 1).requires_grad_()
            tcn(audio[:, None], p).square().mean().backward()

        def through_dsp(audio=audio, params=params):
            p = params.clone().requires_grad_()
            dsp.process(audio, p, SAMPLE_RATE).square().mean().backward()

        t_tcn, _ = timed(through_tcn, repeats=1)
        t_dsp, _ = timed(through_dsp)
        print(f"| {label} | {t_tcn:.2f} | {t_dsp:.3f} | {t_tcn / t_dsp:.0f}x |")


def song_child(effects: str) -> None:
    """One 5-minute, 16-track song through a full console with ``effects`` (fresh process)."""
    if effects == "tcn":
        console = load_model(checkpoint_path("console_full"))
    else:
        try:
            console = load_model(checkpoint_path("console_dsp_full"))
        except (OSError, ValueError):  # not trained yet: the same architecture, untrained
            print("(no console_dsp_full.pt: timing an untrained DSP console)", file=sys.stderr)
            encoder = load_model(checkpoint_path("encoder"))
            console = DifferentiableMixingConsole(
                "full", encoder=encoder.init_kwargs, effects="dsp"
            )
    mixer = ConsoleMixer(console, "cpu")
    tracks = program(16, 300.0).numpy()
    start = time.perf_counter()
    mixer.mix(tracks, SAMPLE_RATE)
    elapsed = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"| {effects} | {elapsed:.1f} | {peak_gb:.2f} |", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tracks", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--song", action="store_true", help="also a 5-minute, 16-track song")
    parser.add_argument("--child", choices=("tcn", "dsp"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.child:
        song_child(args.child)
        return
    print(
        f"{torch.get_num_threads()} threads; strip settings uniform in range ({len(CHANNEL_STRIP)} per track)"
    )
    section_speed(args.tracks, args.seconds)
    step_speed()
    if args.song:
        print("\n3. a 5-minute, 16-track song, full console (goal: at most 60 s)")
        print("| effects | wall s | peak memory GB |")
        print("| --- | ---: | ---: |")
        for effects in ("dsp", "tcn"):
            command = [sys.executable, __file__, "--child", effects, "--threads", str(args.threads)]
            subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
