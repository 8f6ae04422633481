"""``python -m dmc.render import`` with mixes as systems really deliver them.

The other import tests write every file at the render's own rate, for passages that start
at the beginning of a song, into a render at -23 LUFS: a resampling with its rates
swapped, a cut at ``start_seconds`` samples, a too-short passage file padded with silence
or an import that ignores the render's loudness target would all pass there. Here the
render is at 44.1 kHz and -16 LUFS, its passages start 3.5 s and 1.25 s into 6 s songs,
and the system's mixes come at 22.05, 48 and 96 kHz, as whole songs and as passages.

Whether the right music was imported is checked against the rendered ``target``
condition (the same mix, finished by the renderer): decoded, the two must line up at lag
0 and correlate. Their loudness is checked against the render's target, and, for EBU
Tech 3341 case 1 (a 1 kHz sine at -23 dBFS reads -23 LUFS), by the sine's amplitude,
which no loudness meter computes.
"""

from __future__ import annotations

import hashlib
import math
import shutil
from fractions import Fraction

import numpy as np
import pytest
from scipy import signal

from dmc.audio import decode_mp3, write_audio
from dmc.contracts.manifest import load_manifest
from dmc.contracts.policies import LoudnessPolicy
from dmc.mixers import resolve_methods
from dmc.multitrack import Passage, Song, Track
from dmc.render.testset import RenderSettings, TaskPlan

from .conftest import make_song, render, run_main

RATE = 44100
#: Not the default -23 LUFS: an import that ignores the render's target lands 7 LU off.
TARGET_LUFS = -16.0
SECONDS = 2.0
SONG_SECONDS = 6.0
#: Where each song's passage starts (s): late, and not on a whole second.
STARTS = (3.5, 1.25)
OTHER_RATES = (22050, 48000, 96000)


def render_passages(out, passages, methods, target_lufs: float) -> None:
    """Render ``[(song, start_seconds)]`` with ``methods`` at ``target_lufs``, in process."""
    specs, _ = resolve_methods("drums", list(methods))
    plan = TaskPlan(
        "drums", [(s, Passage(s.song_id, start, SECONDS)) for s, start in passages], specs
    )
    settings = RenderSettings(seconds=SECONDS, loudness=LoudnessPolicy(target_lufs=target_lufs))
    render([plan], out, settings=settings)


def convert(audio: np.ndarray, rate_from: int, rate_to: int) -> np.ndarray:
    """The test's own rate conversion (what the system's export would hold)."""
    ratio = Fraction(rate_to, rate_from)
    return signal.resample_poly(audio, ratio.numerator, ratio.denominator, axis=-1)


def snapshot(folder) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def do_import(render_dir, source, capsys, *options):
    argv = ["import", "--method", "mixbot", "--from", str(source), "--out", str(render_dir)]
    return run_main([*argv, "--no-progress", *options], capsys)


@pytest.fixture(scope="module")
def songs():
    return [make_song(i, seconds=SONG_SECONDS, sample_rate=RATE) for i in range(len(STARTS))]


@pytest.fixture(scope="module")
def base_render(tmp_path_factory, songs):
    out = tmp_path_factory.mktemp("render-16")
    render_passages(out, list(zip(songs, STARTS)), ["mono", "target"], TARGET_LUFS)
    return out


@pytest.fixture
def rendered(base_render, tmp_path):
    out = tmp_path / "render"
    shutil.copytree(base_render, out)
    return out


def write_system(folder, songs, rate: int, gain_db: float = -7.0) -> None:
    """The songs' own target mixes at ``rate``: song 0 whole, song 1 cut to its passage."""
    gain = 10 ** (gain_db / 20)
    whole = convert(songs[0].target_audio(), RATE, rate) * gain
    write_audio(folder / f"{songs[0].song_id}.wav", whole, rate)
    start, length = round(STARTS[1] * RATE), round(SECONDS * RATE)
    cut = convert(songs[1].target_audio(start, length), RATE, rate) * gain
    passage = Passage(songs[1].song_id, STARTS[1], SECONDS).passage_id
    write_audio(folder / f"{passage}.wav", cut, rate)


def alignment(imported: np.ndarray, reference: np.ndarray) -> tuple[int, float]:
    """(lag in samples of the best match, its normalised correlation) of the mono sums."""
    a, b = imported.mean(axis=0), reference.mean(axis=0)
    full = signal.correlate(a, b, mode="full", method="fft")
    lag = int(np.argmax(full)) - (b.size - 1)
    return lag, float(full.max() / np.sqrt(np.sum(a**2) * np.sum(b**2)))


@pytest.mark.parametrize("rate", OTHER_RATES)
def test_mixes_at_other_rates_are_imported_as_the_passage_at_the_renders_rate(
    rendered, songs, tmp_path, capsys, rate
):
    write_system(tmp_path / "mixbot", songs, rate)
    code, out, err = do_import(rendered, tmp_path / "mixbot", capsys)
    assert code == 0, err
    assert "mixbot: 2 passage(s) imported" in out
    manifest = load_manifest(rendered)
    entries = manifest.passages("drums")
    assert [e.start_seconds for e in entries] == list(STARTS)
    for entry, window in zip(entries, ("song", "passage")):
        condition = entry.condition("mixbot")
        assert condition.extra["imported"]["window"] == window
        assert condition.extra["imported"]["source_sample_rate"] == rate
        imported, imported_rate = decode_mp3(rendered / condition.file)
        target, _ = decode_mp3(rendered / entry.condition("target").file)
        # at the render's rate, exactly the passage's length: not 8.8 % slow or fast
        assert imported_rate == RATE and imported.shape == (2, round(SECONDS * RATE))
        # the same music as the target condition, from the passage's start on
        lag, correlation = alignment(imported, target)
        # (a 22.05 kHz export lacks the noise bursts' top octave: 0.97 there, 0.998 above)
        assert lag == 0 and correlation > 0.9, (entry.passage_id, window, lag, correlation)


def test_a_whole_song_mix_is_cut_where_its_late_passage_starts(rendered, songs, tmp_path, capsys):
    """A cut at ``start_seconds`` samples (or at 0) gives music from the song's first
    second: lined up against the target, it does not match at lag 0."""
    folder = tmp_path / "mixbot"
    write_audio(folder / f"{songs[0].song_id}.wav", songs[0].target_audio() * 0.5, RATE)
    code, _, err = do_import(rendered, folder, capsys, "--partial")
    assert code == 0, err
    entry = load_manifest(rendered).passages("drums")[0]
    assert entry.start_seconds == STARTS[0]
    imported, _ = decode_mp3(rendered / entry.condition("mixbot").file)
    target, _ = decode_mp3(rendered / entry.condition("target").file)
    lag, correlation = alignment(imported, target)
    assert lag == 0 and correlation > 0.99, (lag, correlation)
    assert entry.condition("mixbot").extra["imported"]["offset_ms"] == 0.0


def test_imported_mixes_are_finished_at_the_renders_own_loudness_target(
    rendered, songs, tmp_path, capsys
):
    write_system(tmp_path / "mixbot", songs, RATE, gain_db=-12.0)
    code, _, err = do_import(rendered, tmp_path / "mixbot", capsys)
    assert code == 0, err
    manifest = load_manifest(rendered)
    assert manifest.loudness.target_lufs == TARGET_LUFS
    for entry in manifest.passages("drums"):
        imported = entry.condition("mixbot")
        assert imported.loudness_lufs == pytest.approx(TARGET_LUFS, abs=0.3)
        for method in ("mono", "target"):  # within a fraction of an LU of the rest
            assert abs(imported.loudness_lufs - entry.condition(method).loudness_lufs) < 0.3
        # the same gain as the target condition, measured on the samples: no meter involved
        audio, _ = decode_mp3(rendered / imported.file)
        target, _ = decode_mp3(rendered / entry.condition("target").file)
        level_db = 10 * math.log10(np.mean(audio**2) / np.mean(target**2))
        assert abs(level_db) < 0.3, (entry.passage_id, level_db)


@pytest.mark.parametrize(("shorter_s", "accepted"), [(0.5, False), (0.05, True)])
def test_a_passage_file_too_short_is_refused_one_within_the_tolerance_accepted(
    rendered, songs, tmp_path, capsys, shorter_s, accepted
):
    entry = load_manifest(rendered).passages("drums")[1]
    start, length = round(STARTS[1] * RATE), round((SECONDS - shorter_s) * RATE)
    folder = tmp_path / "mixbot"
    write_audio(
        folder / f"{entry.passage_id}.wav", songs[1].target_audio(start, length) * 0.5, RATE
    )
    before = snapshot(rendered)
    code, out, err = do_import(rendered, folder, capsys, "--partial")
    if accepted:
        assert code == 0, err
        imported = load_manifest(rendered).passages("drums")[1].condition("mixbot")
        assert imported.duration_seconds == pytest.approx(SECONDS, abs=1e-3)
        return
    assert code == 2 and out == ""
    assert f"{entry.passage_id}.wav is 1.50 s long but passage {entry.passage_id} is 2.00 s" in err
    assert snapshot(rendered) == before


# --------------------------------------------------------------------------- EBU Tech 3341


def sine(rate: int, dbfs: float, seconds: float = SONG_SECONDS) -> np.ndarray:
    """A 1 kHz sine at ``dbfs`` peak on both channels ``(2, samples)``."""
    t = np.arange(round(seconds * rate)) / rate
    return np.repeat((10 ** (dbfs / 20) * np.sin(2 * np.pi * 1000 * t))[None], 2, axis=0)


def sine_dbfs(audio: np.ndarray) -> float:
    """A sine's peak level (dBFS) from its mean square, away from the edges."""
    middle = audio[:, audio.shape[1] // 8 : -audio.shape[1] // 8]
    return 10 * math.log10(2 * np.mean(middle.astype(np.float64) ** 2))


@pytest.mark.parametrize("rate", [22050, 48000])
def test_case_1_sine_comes_out_at_minus_23_dbfs_from_the_render_and_the_import(
    tmp_path, capsys, rate
):
    """EBU Tech 3341 case 1 through the paths where the loudness target is applied: a
    render at ``rate`` whose song's mix is a 1 kHz sine (at -30 dBFS), and an import of one
    (at -11 dBFS), both finished to -23 LUFS, must play the sine at -23 dBFS (+-0.1)."""
    tone = sine(rate, -30.0)
    song = Song(
        "tone",
        [Track("keys", "keys", audio=tone[:1])],
        rate,
        tone.shape[1],
        Track("mix", audio=tone),
    )
    out = tmp_path / "render"
    render_passages(out, [(song, 2.5)], ["target"], -23.0)
    entry = load_manifest(out).passages("drums")[0]
    rendered, rendered_rate = decode_mp3(out / entry.condition("target").file)
    assert rendered_rate == rate
    assert sine_dbfs(rendered) == pytest.approx(-23.0, abs=0.1)
    write_audio(tmp_path / "mixbot" / f"{entry.passage_id}.wav", sine(rate, -11.0, SECONDS), rate)
    code, _, err = do_import(out, tmp_path / "mixbot", capsys)
    assert code == 0, err
    imported = load_manifest(out).passages("drums")[0].condition("mixbot")
    audio, imported_rate = decode_mp3(out / imported.file)
    assert imported_rate == rate
    assert sine_dbfs(audio) == pytest.approx(-23.0, abs=0.1)
    assert imported.loudness_lufs == pytest.approx(-23.0, abs=0.1)
