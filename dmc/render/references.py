"""What an imported system is scored against: the render's own lossless target, when it can be had.

The built-in conditions of a test set are scored against the target mix *before*
encoding (:mod:`dmc.render.finish`). An imported system must be scored against the same
signal: the decoded target MP3 is no substitute, because the MR-STFT distance's log
magnitudes weigh the bands above the encoder's low-pass (LAME -V2 cuts near 19 kHz)
heavily. On the demo test set the decoded target MP3 scores 1.1-1.3 against the target
itself, more than the console's whole error (``docs/render.md``).

So the import reloads the passage's target from the dataset the manifest names
(``settings.data``, ``split`` and ``root``, recorded by ``python -m dmc.render testset``),
cuts the passage and checks that it is the signal the render encoded (correlation with
the decoded target MP3). Only when the data cannot be read here (a render moved to
another machine, an older manifest without ``root``) does it fall back to the decoded
MP3, with a note, and the condition records which reference it got
(``extra.imported.metrics_reference``).
"""

from __future__ import annotations

import numpy as np

from dmc.audio import AudioError, decode_mp3, resample
from dmc.contracts.conditions import REFERENCE
from dmc.contracts.manifest import Manifest, PassageEntry
from dmc.datasets import DatasetError, load_songs

#: The reloaded target must correlate at least this well with the decoded target MP3 (MP3 V2 of
#: noisy material keeps about 0.97; another song or window correlates near 0).
MIN_CORRELATION = 0.9
#: Values of ``extra.imported.metrics_reference``.
LOSSLESS, DECODED_MP3 = "target", "decoded target MP3"


def target_condition(entry: PassageEntry):
    return next((c for c in entry.conditions if c.method == REFERENCE), None)


def decoded_target(manifest: Manifest, entry: PassageEntry, rate: int) -> np.ndarray:
    """The passage's target MP3, decoded at ``rate``."""
    audio, _ = decode_mp3(manifest.path_of(target_condition(entry).file), sample_rate=rate)
    return audio


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    n = min(a.shape[1], b.shape[1])
    x, y = a[:, :n].mean(axis=0), b[:, :n].mean(axis=0)
    if not (np.any(x) and np.any(y)):
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def lossless_targets(
    manifest: Manifest, tasks: list[str], rates: dict[tuple[str, str], int]
) -> tuple[dict[tuple[str, str], np.ndarray], list[str]]:
    """``(task, passage_id) -> target (2, samples)`` at the passage's rate, for every passage
    with a target whose dataset can be read here; and notes on what could not.

    Args:
        rates: ``(task, passage_id) -> sample rate`` of the passages to look up.
    """
    data = manifest.settings.get("data")
    if not data:
        return {}, [
            "the render does not name its dataset: imported systems are scored against the decoded target MP3"
        ]
    found: dict[tuple[str, str], np.ndarray] = {}
    notes: list[str] = []
    for task in tasks:
        wanted = [
            e
            for e in manifest.passages(task)
            if (task, e.passage_id) in rates and target_condition(e)
        ]
        if not wanted:
            continue
        try:
            songs = {s.song_id: s for s in load_songs(data, task, manifest.settings.get("split", "test"),
                                                      root=manifest.settings.get("root"))}  # fmt: skip
        except (DatasetError, AudioError, OSError) as exc:
            notes.append(
                f"cannot read --data {data} here ({exc}); {task} imports are scored against the decoded target MP3"
            )
            continue
        for entry in wanted:
            song = songs.get(entry.song_id)
            if song is None or song.target is None:
                continue
            rate = rates[(task, entry.passage_id)]
            start = int(round(entry.start_seconds * song.sample_rate))
            length = int(round(entry.length_seconds * song.sample_rate))
            try:
                target = song.excerpt(start, length).target_audio()
            except (ValueError, AudioError):
                continue
            target = resample(target, song.sample_rate, rate)
            if _correlation(target, decoded_target(manifest, entry, rate)) >= MIN_CORRELATION:
                found[(task, entry.passage_id)] = target
        missed = len(wanted) - sum(1 for e in wanted if (task, e.passage_id) in found)
        if missed:
            notes.append(
                f"{missed} {task} passage(s) of --data {data} differ from the render or are gone: "
                "scored against the decoded target MP3"
            )
    return found, notes
