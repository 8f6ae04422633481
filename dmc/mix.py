"""``python -m dmc.mix SONG_DIR``: mix a folder of tracks with a trained console.

    python -m dmc.mix SONG_DIR --task drums|full --out mix.wav --params params.json
    python -m dmc.mix SONG_DIR --task full --from-params edited.json --renderer chain --out mix.wav

SONG_DIR holds one audio file per track, in any format a ``--data folder`` song may use
(WAV, FLAC, AIFF, OGG, MP3, M4A/AAC, WMA ...: what libsndfile or ffmpeg reads), mono or
stereo, at any sample rate. The console's channels are mono at 44.1 kHz, so a stereo
track is averaged to mono and a track at another rate is resampled, each with a note on
stderr. A reference mix named ``mix.*`` or ``target.*`` (as in a ``--data folder`` song
or a demo song exported with ``python -m dmc.datasets export-song``) is left out, with a
note. A track's role comes from its file name when the name holds one as a word
(``03_kick_in.wav``), otherwise the encoder's role classifier infers it. Tracks are
gain-staged over the whole song like every mixer's input, mixed, and written as a stereo
WAV with the tracks' length, at the rate most tracks have (on a tie the highest of the
tied rates, so that no track loses bandwidth to the choice; a note says which rate and
why; ``--sample-rate`` sets it). ``--params`` writes every track's parameters in
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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dmc import SAMPLE_RATE
from dmc.audio import AudioError, read_audio, resample, write_audio
from dmc.checkpoint import CheckpointError
from dmc.cli import EXIT_BAD_INPUT, Parser, fail, note
from dmc.datasets.folder import AUDIO_SUFFIXES, MIX_NAMES
from dmc.decode import read_any_audio
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
PROG = "python -m dmc.mix"


class MixError(ValueError):
    """A user mistake (folder, file, task, parameters file); the message says which and why."""


# ---------------------------------------------------------------------------- reading the song
def track_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """The track files of a song folder (sorted) and the reference mixes left out of them.

    Audio files are those a ``--data folder`` song reads
    (:data:`dmc.datasets.folder.AUDIO_SUFFIXES`), so a folder that renders also mixes.
    A file named ``mix.*`` or ``target.*`` (any case) is the song's reference mix, as in
    a ``--data folder`` song (:data:`dmc.datasets.folder.MIX_NAMES`): mixing it in as one
    more track would be wrong and silent.
    """
    if folder.is_file():
        raise MixError(
            f"{folder} is a file; give the folder that holds the song's tracks "
            "(one audio file per track)"
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


@dataclass(frozen=True)
class Song:
    """A song folder read for the console.

    Attributes:
        files: the track files, in the order of ``tracks``' rows.
        tracks: mono tracks at the console's rate, zero-padded to one length ``(T, S)``.
        out_rate: the sample rate the mix is written at.
        out_length: the mix's length in samples at ``out_rate`` (the longest track's).
        notes: what reading changed (a track downmixed or resampled, the output rate
            chosen among differing ones), for the user; printed once every track is read,
            so that a bad file later in the folder is the only line.
    """

    files: list[Path]
    tracks: np.ndarray
    out_rate: int
    out_length: int
    notes: list[str]


def read_song(folder: Path, sample_rate: int | None = None) -> Song:
    """Every track of ``folder`` as a mono channel at the console's rate, a note per track
    that had to be downmixed or resampled, and the output rate (``sample_rate``, or
    :func:`output_rate`'s choice, with a note when the tracks' rates differ)."""
    files, _ = track_files(folder)
    if not files:
        raise MixError(
            f"no audio tracks in {folder} (one file per track: WAV, FLAC, MP3, M4A ...; "
            "mix.* and target.* are reference mixes)"
        )
    mono, rates, notes = [], [], []
    for path in files:
        decoded = read_any_audio(path)
        audio, rate = decoded.audio, decoded.sample_rate
        changes = []
        if decoded.channels > 1:
            changes.append(f"{decoded.channels} channels averaged to mono")
            audio = audio.mean(axis=0, keepdims=True)
        if rate != SAMPLE_RATE:
            changes.append(f"resampled from {rate} Hz to {SAMPLE_RATE} Hz")
            audio = resample(audio, rate, SAMPLE_RATE)
        if changes:
            notes.append(
                f"{path.name}: {' and '.join(changes)} (a console channel is mono, 44.1 kHz)"
            )
        rates.append(rate)
        mono.append(audio[0])
    if sample_rate is None:
        sample_rate, why = output_rate(files, rates)
        notes += [why] if why else []
    out_length = max(round(m.shape[0] * sample_rate / SAMPLE_RATE) for m in mono)
    length = max(m.shape[0] for m in mono)
    tracks = np.stack([np.pad(m, (0, length - m.shape[0])) for m in mono]).astype(np.float32)
    return Song(files, tracks, int(sample_rate), out_length, notes)


def output_rate(files: list[Path], rates: list[int]) -> tuple[int, str | None]:
    """The rate most tracks have; on a tie the highest of the tied rates (no track loses
    bandwidth to the choice). When the rates differ, also a note that lists them and says
    which the mix takes and why, so that the choice is never a silent tie-break."""
    counts = Counter(rates)
    if len(counts) == 1:
        return rates[0], None
    most = max(counts.values())
    tied = sorted(rate for rate, count in counts.items() if count == most)
    chosen = tied[-1]
    listing = "; ".join(
        f"{rate} Hz: {', '.join(p.name for p, r in zip(files, rates) if r == rate)}"
        for rate in sorted(counts)
    )
    why = (
        f"the rate of {most} of the {len(rates)} tracks"
        if len(tied) == 1
        else f"the highest of the rates most tracks share ({' and '.join(map(str, tied))} Hz, "
        f"{most} each)"
    )
    return chosen, (
        f"the tracks have different sample rates ({listing}); the mix is written at "
        f"{chosen} Hz, {why} (--sample-rate HZ to choose)"
    )


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
def positive_rate(text: str) -> int:
    """``--sample-rate``: a whole number of Hz between 8000 and 192000."""
    try:
        rate = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of Hz: {text!r}") from None
    if not 8000 <= rate <= 192000:
        raise argparse.ArgumentTypeError(f"{rate} Hz is outside 8000..192000")
    return rate


def get_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "song_dir",
        type=Path,
        help="folder with one audio file per track (WAV, FLAC, MP3, M4A ...: what --data folder reads)",
    )
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
    parser.add_argument(
        "--sample-rate",
        type=positive_rate,
        default=None,
        metavar="HZ",
        help="sample rate of the written mix (default the rate most tracks have; "
        "on a tie the highest of them)",
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
    _, references = track_files(args.song_dir)
    song = read_song(args.song_dir, args.sample_rate)
    files, tracks, out_rate, out_length = song.files, song.tracks, song.out_rate, song.out_length
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
    # every input checked: what reading the folder left out or changed (bad input is one line)
    if references:
        note(
            PROG,
            f"left out {', '.join(p.name for p in references)}: a reference mix, not a track",
        )
    for text in song.notes:
        note(PROG, text)
    staging = GainStaging()
    gains_db = staging.gains_db(tracks, SAMPLE_RATE)
    staged = staging.apply(tracks, SAMPLE_RATE, gains_db)
    if args.from_params is None:
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
        return fail(PROG, str(exc), EXIT_BAD_INPUT)
    print(
        f"mixed {len(document['tracks'])} tracks ({args.task}) -> {args.out}"
        + (f"; parameters -> {args.params}" if args.params else "")
    )
    if args.report:
        print(report_text(document, *read_audio(args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
