"""Small synthetic multitracks and stand-in mixers for the renderer's tests.

The songs are rendered by the real reference chain with known settings, so an "oracle"
stand-in that mixes with those settings reproduces the target exactly (up to staging)
and must beat the mono and random baselines on every metric that matters.
"""

from __future__ import annotations

import numpy as np
import pytest

from dmc.effects.chain import mix
from dmc.mixers import REGISTRY, MethodSpec, resolve_methods
from dmc.mixers.base import MixResult
from dmc.multitrack import Song, Track, find_passages
from dmc.render.testset import RenderSettings, TaskPlan, render_testset
from dmc.staging import GainStaging

SAMPLE_RATE = 22050
#: Passage length of the synthetic renders (s).
SECONDS = 2.0
#: Per track: (gain_db, pan) of the synthetic targets.
TARGET_SETTINGS = [(0.0, 0.5), (-6.0, 0.15), (-3.0, 0.85), (-9.0, 0.35)]


def synthetic_tracks(seconds: float, seed: int, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Four mono tracks ``(4, samples)``: drum-like hits, a bass line, a chord, noise bursts."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    hits = np.zeros(n)
    for start in range(0, n, sample_rate // 4):
        length = min(n - start, sample_rate // 8)
        hits[start : start + length] += rng.uniform(0.4, 1.0) * np.exp(
            -np.arange(length) / (0.02 * sample_rate)
        )
    hits *= rng.standard_normal(n) * 0.5 + np.sin(2 * np.pi * 70 * t)
    bass = 0.4 * np.sin(2 * np.pi * (55 + 5 * seed) * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t))
    chord = 0.2 * sum(np.sin(2 * np.pi * f * t) for f in (330.0, 415.3, 494.0))
    noise = 0.1 * rng.standard_normal(n) * (np.sin(2 * np.pi * 0.7 * t) > 0)
    return np.stack([hits, bass, chord, noise]).astype(np.float32)


def target_params(task: str = "drums") -> list[dict[str, float]]:
    return [{"gain_db": g, "pan": p} for g, p in TARGET_SETTINGS]


def make_song(index: int, seconds: float = 3.0, sample_rate: int = SAMPLE_RATE) -> Song:
    tracks = synthetic_tracks(seconds, seed=index, sample_rate=sample_rate)
    staged = GainStaging().apply(tracks, sample_rate)
    target, _ = mix(staged, sample_rate, target_params(), stages=("gain",))
    names = ["kick", "bass", "keys", "perc"]
    roles = ["kick", "bass", "keys", "percussion"]
    return Song(
        song_id=f"song{index:02d}",
        tracks=[Track(n, r, audio=a[None]) for n, r, a in zip(names, roles, tracks)],
        sample_rate=sample_rate,
        num_samples=tracks.shape[1],
        target=Track("mix", "other", audio=target),
    )


class OracleMixer:
    """Stand-in for the trained console: mixes with the settings that made the target."""

    name = "console"

    def mix(self, tracks: np.ndarray, sample_rate: int, names=None) -> MixResult:
        params = target_params()
        audio, _ = mix(tracks, sample_rate, params, stages=("gain",))
        return MixResult(audio=audio, params=params)


def oracle_registry() -> dict[str, MethodSpec]:
    """The real registry with the console replaced by :class:`OracleMixer` (no checkpoint
    needed) and without the exact-effects console (whose default depends on a shipped file)."""
    out = dict(REGISTRY)
    del out["console_dsp"]
    out["console"] = MethodSpec(
        "console", ("drums", "full"), "tracks", lambda request: OracleMixer()
    )
    return out


def plans_for(songs, registry, names=None, anchors=False, task="drums") -> list[TaskPlan]:
    """One task plan: the loudest ``SECONDS`` of every song, with the named methods."""
    specs, _ = resolve_methods(task, names, anchors=anchors, registry=registry)
    return [TaskPlan(task, [(s, find_passages(s, SECONDS)[0]) for s in songs], specs)]


def render(plans, out, **options):
    """:func:`render_testset` without progress bar or worker processes, ``SECONDS`` long passages."""
    options.setdefault("settings", RenderSettings(seconds=SECONDS))
    return render_testset(plans, out, progress=False, workers=0, **options)


@pytest.fixture
def songs():
    return [make_song(i) for i in range(3)]


@pytest.fixture
def registry():
    return oracle_registry()


@pytest.fixture
def target_settings():
    return list(TARGET_SETTINGS)


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    """One render of three passages with every drums method but demucs, plus the anchors: ``(out, result)``."""
    out = tmp_path_factory.mktemp("render")
    songs = [make_song(i) for i in range(3)]
    result = render(
        plans_for(songs, oracle_registry(), ["console", "mono", "random", "target"], anchors=True),
        out,
    )
    return out, result


@pytest.fixture
def renderer():
    """``(plans_for, render)`` for tests that render themselves."""
    return plans_for, render


def write_enst(root, seconds: float = 3.0, sample_rate: int = 44100) -> None:
    """A miniature ENST-Drums folder: three drummers with one take each, all eight mics.

    The wet mix is the reference chain's mix of the staged mics, so a split of three takes
    gives one test take (``dmc.datasets.splits``: at least one per split).
    """
    import soundfile as sf

    from dmc.datasets.enst import ENST_CHANNELS

    for drummer in (1, 2, 3):
        audio = root / f"drummer_{drummer}" / "audio"
        n = int(seconds * sample_rate)
        mics = np.concatenate(
            [synthetic_tracks(seconds, seed=drummer, sample_rate=sample_rate)] * 2
        )[:, :n]
        for (_, _, folders), track in zip(ENST_CHANNELS, mics):
            (audio / folders[0]).mkdir(parents=True, exist_ok=True)
            sf.write(
                audio / folders[0] / "001_phrase_rock.wav", track, sample_rate, subtype="FLOAT"
            )
        staged = GainStaging().apply(mics, sample_rate)
        params = [{"gain_db": -3.0, "pan": p} for p in np.linspace(0.1, 0.9, len(mics))]
        wet, _ = mix(staged, sample_rate, params, stages=("gain",))
        (audio / "wet_mix").mkdir(parents=True, exist_ok=True)
        sf.write(audio / "wet_mix" / "001_phrase_rock.wav", wet.T, sample_rate, subtype="FLOAT")


@pytest.fixture
def enst_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("enst")
    write_enst(root)
    return root


@pytest.fixture(scope="session")
def standin_checkpoints(tmp_path_factory):
    """A checkpoint folder with an untrained Demucs baseline of the shipped architecture."""
    import torch

    from dmc.checkpoint import save_model
    from dmc.nn.demucs import DemucsMixer

    folder = tmp_path_factory.mktemp("checkpoints")
    torch.manual_seed(0)
    save_model(folder / "demucs_drums.pt", DemucsMixer())
    return folder


def run_main(argv, capsys):
    """``python -m dmc.render`` in-process: (exit status, stdout, stderr)."""
    from dmc.render.cli import main

    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err
