"""``python -m dmc.mix SONG_DIR``: mix a folder of tracks with a trained console.

    python -m dmc.mix SONG_DIR --task drums|full --out mix.wav --params params.json
    python -m dmc.mix SONG_DIR --task full --from-params edited.json --renderer chain --out mix.wav

SONG_DIR holds one WAV or FLAC per track (mono or stereo, any sample rate; stereo is
averaged to mono, as a console channel is mono); a reference mix named ``mix.*`` or
``target.*`` (as in a ``--data folder`` song or a demo song exported with
``python -m dmc.datasets export-song``) is left out, with a note. A track's role comes from its file
name when the name holds one as a word (``03_kick_in.wav``), otherwise the encoder's
role classifier infers it. Tracks are gain-staged over the whole song like every mixer's
input, mixed, and written as a stereo WAV with the tracks' length and sample rate (the
most common rate when files differ). ``--params`` writes every track's parameters in
real units (dB, Hz, ms; pan as ``L30``/``C``/``R100`` percent); edit that file and
render it again with ``--from-params``. Renderers: ``console`` (default), what the
console hears (its TCN, or a DSP console's exact effects); ``tcn``, through a TCN
console's network; ``chain``, the real effects (pedalboard); ``dsp``, the exact
differentiable copy of the real effects (``dmc.dsp``: the chain's result, faster). Any
renderer renders any parameters: ``--renderer chain`` or ``dsp`` without
``--from-params`` renders the console's own parameters, so ``tcn`` against ``chain``
shows how faithful the neural proxy is.
``--report`` prints where every track sits in the stereo image and how far the mix leans
(``dmc.stereo_image``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from dmc import SAMPLE_RATE
from dmc.audio import AudioError, read_audio, resample, write_audio
from dmc.checkpoint import CheckpointError
from dmc.cli import EXIT_BAD_INPUT, Parser, fail, note
from dmc.datasets.folder import MIX_NAMES
from dmc.dsp import mix as dsp_mix
from dmc.effects.chain import mix as chain_mix
from dmc.effects.params import CHANNEL_STRIP, TASKS, ParameterSpace, expand_to_strip
from dmc.mixers.console import ConsoleMixer, load_console
from dmc.pretrained import checkpoint_path
from dmc.roles import ROLES, role_from_name
from dmc.staging import GainStaging
from dmc.stereo_image import pan_from_text, pan_to_text, report_text

PARAMS_FORMAT = "dmc-mix-params"
RENDERERS = ("console", "tcn", "chain", "dsp")
AUDIO_SUFFIXES = (".wav", ".flac")


class MixError(ValueError):
    """A user mistake (folder, file, task, parameters file); the message says which and why."""


# ---------------------------------------------------------------------------- reading the song
def track_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """The track files of a song folder (sorted) and the reference mixes left out of them.

    A file named ``mix.*`` or ``target.*`` (any case) is the song's reference mix, as in
    a ``--data folder`` song (:data:`dmc.datasets.folder.MIX_NAMES`): mixing it in as one
    more track would be wrong and silent.
    """
    if folder.is_file():
        raise MixError(
            f"{folder} is a file; give the folder that holds the song's tracks "
            "(one WAV or FLAC per track)"
        )
    if not folder.is_dir():
        raise MixError(
            f"song folder not found: {folder} (get one to try with "
            "`python -m dmc.datasets export-song demo_song`)"
        )
    audio = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in AUDIO_SUFFIXES
    )
    references = [p for p in audio if p.stem.lower() in MIX_NAMES]
    return [p for p in audio if p not in references], references


def read_song(folder: Path) -> tuple[list[Path], np.ndarray, int, int]:
    """Mono tracks at the console's rate ``(T, S)``, their files, the output rate and length."""
    files, _ = track_files(folder)
    if not files:
        raise MixError(
            f"no WAV or FLAC tracks in {folder} (mix.* and target.* are reference mixes)"
        )
    mono, rates = [], []
    for path in files:
        audio, rate = read_audio(path, mono=True)
        if audio.shape[1] == 0:
            raise MixError(f"{path} holds no samples")
        rates.append(rate)
        mono.append(resample(audio, rate, SAMPLE_RATE)[0] if rate != SAMPLE_RATE else audio[0])
    out_rate = Counter(rates).most_common(1)[0][0]
    out_length = max(round(m.shape[0] * out_rate / SAMPLE_RATE) for m in mono)
    length = max(m.shape[0] for m in mono)
    tracks = np.stack([np.pad(m, (0, length - m.shape[0])) for m in mono]).astype(np.float32)
    return files, tracks, out_rate, out_length


def infer_roles(
    files: list[Path], tracks: np.ndarray, mixer: ConsoleMixer | None
) -> list[tuple[str, str]]:
    """``(role, source)`` per track: from the file name, else the encoder's classifier, else ``other``."""
    out = []
    for i, path in enumerate(files):
        role = role_from_name(path.name)
        if role is not None:
            out.append((role, "file name"))
        elif mixer is not None:
            with torch.no_grad():
                piece = torch.as_tensor(tracks[i : i + 1, : 30 * SAMPLE_RATE], device=mixer.device)
                logits = mixer.console.encoder.logits(piece)
            out.append((ROLES[int(logits.argmax())], "encoder"))
        else:
            out.append(("other", "default"))
    return out


# ---------------------------------------------------------------------------- parameters files
def params_document(
    task: str,
    checkpoint: str | None,
    files: list[Path],
    roles,
    staging_db,
    values,
    space: ParameterSpace,
) -> dict:
    """The parameters file: one entry per track, ``values`` ``(T, len(space))`` in real units."""
    tracks = []
    for path, (role, source), gain, row in zip(files, roles, staging_db, values):
        settings = space.to_dict(row)
        if "pan" in settings:
            settings["pan"] = pan_to_text(settings["pan"])
        tracks.append(
            {
                "file": path.name,
                "role": role,
                "role_source": source,
                "staging_gain_db": round(float(gain), 2),
                "params": {
                    k: (round(v, 3) if isinstance(v, float) else v) for k, v in settings.items()
                },
            }
        )
    suffixes = {"_db": "dB", "_hz": "Hz", "_ms": "ms"}
    units = {p.name: suffixes.get(p.name[-3:], p.description) for p in space}
    if "pan" in units:
        units["pan"] = "L100 (hard left) .. C .. R100 (hard right)"
    return {
        "format": PARAMS_FORMAT,
        "version": 1,
        "task": task,
        "checkpoint": checkpoint,
        "sample_rate": SAMPLE_RATE,
        "units": units,
        "tracks": tracks,
    }


def read_params(
    path: Path, task: str, files: list[Path]
) -> tuple[np.ndarray, ParameterSpace, list[tuple[str, str]]]:
    """From an (edited) parameters file, matched by file name: real-unit values of the
    whole strip ``(T, 25)`` (names the file leaves out at their defaults), the space of
    the names it sets, and ``(role, source)`` per track."""
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise MixError(f"cannot read parameters file {path}: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != PARAMS_FORMAT:
        raise MixError(f"{path} is not a dmc parameters file (written by --params)")
    if document.get("task") != task:
        raise MixError(f"{path} holds parameters for task {document.get('task')!r}, not {task!r}")
    entries = {
        entry.get("file"): entry for entry in document.get("tracks", []) if isinstance(entry, dict)
    }
    by_file = {name: entry.get("params", {}) for name, entry in entries.items()}
    missing = [p.name for p in files if p.name not in by_file]
    if missing:
        raise MixError(f"{path} has no parameters for {', '.join(missing)}")
    settings = []
    for p in files:
        entry = dict(by_file[p.name])
        if "pan" in entry:
            try:
                entry["pan"] = pan_from_text(entry["pan"], p.name)
            except ValueError as exc:
                raise MixError(str(exc)) from None
        settings.append(entry)
    try:
        values = params_matrix(CHANNEL_STRIP, settings)
    except ValueError as exc:
        raise MixError(f"{path}: {exc}") from None
    named = {name for entry in settings for name in entry}
    space = CHANNEL_STRIP.subset(n for n in CHANNEL_STRIP.names if n in named)
    roles = [
        (
            str(entries[p.name].get("role", "other")),
            str(entries[p.name].get("role_source", path.name)),
        )
        for p in files
    ]
    return values, space, roles


def params_matrix(space: ParameterSpace, settings: list[dict]) -> np.ndarray:
    """Real-unit ``(T, P)`` from one ``{name: value}`` dict per track (validated, defaults filled)."""
    return (
        np.stack([space.from_dict(s) for s in settings]) if settings else np.zeros((0, len(space)))
    )


def console_values(strip: np.ndarray, space: ParameterSpace, checkpoint) -> np.ndarray:
    """The console's own columns of whole-strip values; settings it cannot play are an error
    (a drums TCN console sets gain and pan only: an edited EQ would be dropped silently)."""
    defaults = CHANNEL_STRIP.defaults()
    ignored = [
        name
        for i, name in enumerate(CHANNEL_STRIP.names)
        if name not in space.names and not np.allclose(strip[:, i], defaults[i])
    ]
    if ignored:
        raise MixError(
            f"{checkpoint} sets only {', '.join(space.names)}; to hear "
            f"{', '.join(ignored)} use --renderer chain or dsp"
        )
    return CHANNEL_STRIP.select(strip, space.names)


# ---------------------------------------------------------------------------- command line
def get_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="python -m dmc.mix",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("song_dir", type=Path, help="folder with one WAV/FLAC per track")
    parser.add_argument("--task", default="full", help=f"one of {', '.join(TASKS)} (default full)")
    parser.add_argument(
        "--out", type=Path, default=Path("mix.wav"), help="stereo WAV to write (default mix.wav)"
    )
    parser.add_argument(
        "--params", type=Path, default=None, help="write the parameters (real units) as JSON here"
    )
    parser.add_argument(
        "--from-params", type=Path, default=None, help="render these (edited) parameters instead"
    )
    parser.add_argument(
        "--renderer",
        default="console",
        choices=RENDERERS,
        help="console: what the console hears (its TCN, or a DSP console's exact effects); "
        "tcn: a TCN console's network; chain: the real effects (pedalboard); dsp: their "
        "exact differentiable copy (dmc.dsp). Default console. chain and dsp without "
        "--from-params render the console's own parameters",
    )
    parser.add_argument(
        "--checkpoint", type=Path, default=None, help="console checkpoint (default the shipped one)"
    )
    parser.add_argument("--device", default=None, help="cpu or cuda (default cuda if available)")
    parser.add_argument(
        "--report",
        action="store_true",
        help="print every track's gain and pan (L/C/R) and the mix's R-L level, broadband and per band",
    )
    return parser


def run(args: argparse.Namespace) -> dict:
    if args.task not in TASKS:
        raise MixError(f"unknown task {args.task!r}; choose one of {', '.join(TASKS)}")
    if args.out.suffix.lower() != ".wav":
        raise MixError(f"--out must be a .wav file, got {args.out}")
    files, tracks, out_rate, out_length = read_song(args.song_dir)
    _, references = track_files(args.song_dir)
    if references:
        note(
            "python -m dmc.mix",
            f"left out {', '.join(p.name for p in references)}: a reference mix, not a track",
        )
    staging = GainStaging()
    gains_db = staging.gains_db(tracks, SAMPLE_RATE)
    staged = staging.apply(tracks, SAMPLE_RATE, gains_db)
    need_console = args.from_params is None or args.renderer in ("console", "tcn")
    checkpoint = args.checkpoint or checkpoint_path(f"console_{args.task}")
    mixer = load_console(args.task, checkpoint, args.device) if need_console else None
    if mixer is not None and args.renderer == "tcn" and mixer.console.effects == "dsp":
        raise MixError(
            f"{checkpoint} mixes with the exact effects and has no TCN; "
            "use --renderer console, dsp or chain"
        )
    if args.from_params is not None:
        strip, space, roles = read_params(args.from_params, args.task, files)
    else:
        roles = infer_roles(files, staged, mixer)
        space = mixer.space
        strip = expand_to_strip(mixer.predict_parameters(staged, [f.name for f in files]), space)
    if args.renderer == "chain":
        audio, _ = chain_mix(staged, SAMPLE_RATE, list(strip))
    elif args.renderer == "dsp":
        audio, _ = dsp_mix(staged, SAMPLE_RATE, list(strip))
    else:
        audio = mixer.render(staged, console_values(strip, mixer.space, checkpoint))
    if out_rate != SAMPLE_RATE:
        audio = resample(audio, SAMPLE_RATE, out_rate)
    audio = (
        audio[:, :out_length]
        if audio.shape[1] >= out_length
        else np.pad(audio, ((0, 0), (0, out_length - audio.shape[1])))
    )
    write_audio(args.out, audio, out_rate)
    document = params_document(
        args.task,
        str(checkpoint) if mixer else None,
        files,
        roles,
        gains_db,
        CHANNEL_STRIP.select(strip, space.names),
        space,
    )
    if args.params is not None:
        args.params.parent.mkdir(parents=True, exist_ok=True)
        args.params.write_text(json.dumps(document, indent=2) + "\n")
    return document


def main(argv: list[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    try:
        document = run(args)
    except (MixError, AudioError, CheckpointError) as exc:
        return fail("python -m dmc.mix", str(exc), EXIT_BAD_INPUT)
    print(
        f"mixed {len(document['tracks'])} tracks ({args.task}) -> {args.out}"
        + (f"; parameters -> {args.params}" if args.params else "")
    )
    if args.report:
        print(report_text(document, *read_audio(args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
