"""The shipped sample bank: complete, small, licensed, and played back at the right pitch."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from dmc.datasets.demo import assets
from dmc.roles import ROLES

MAX_BYTES = 15 * 1024 * 1024


def test_every_indexed_sample_exists_as_mono_44k_flac():
    index = assets.load_index()
    assert len(index["samples"]) > 100
    for entry in index["samples"]:
        info = sf.info(str(assets.ASSETS_DIR / entry["file"]))
        assert (info.samplerate, info.channels, info.format) == (44100, 1, "FLAC"), entry["file"]
        assert entry["role"] in ROLES
        assert 0.02 < entry["seconds"] <= 3.0


def test_assets_stay_under_the_size_limit_and_carry_licences():
    files = [p for p in assets.ASSETS_DIR.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= MAX_BYTES
    names = {p.name for p in files}
    assert {
        "LICENSES.md",
        "LICENSE-CC-BY-3.0.txt",
        "LICENSE-CC0-1.0.txt",
        "LICENSE-MIT-FluidR3.txt",
    } <= names
    licences = (assets.ASSETS_DIR / "LICENSES.md").read_text()
    for needed in ("Emanuel Rumpf", "Frank Wen", "CC-BY-3.0", "CC0", "MIT"):
        assert needed in licences
    assert "Attribution 3.0 Unported" in (assets.ASSETS_DIR / "LICENSE-CC-BY-3.0.txt").read_text()


def test_every_kit_piece_points_at_stored_samples():
    groups = {entry["group"] for entry in assets.load_index()["samples"]}
    assert len(assets.kit_names()) >= 5
    for kit in assets.kit_names():
        for piece, group in assets.kit_pieces(kit).items():
            assert group in groups, (kit, piece)
    with pytest.raises(ValueError, match="unknown drum kit 'nope'"):
        assets.kit_pieces("nope")


def test_louder_velocity_gives_a_louder_hit():
    group = assets.kit_pieces("fluid_standard")["snare"]
    peaks = [np.max(np.abs(assets.drum_hit(group, v))) for v in (30, 60, 90, 127)]
    assert peaks == sorted(peaks) and peaks[-1] > 4 * peaks[0]


def _fundamental_hz(audio: np.ndarray, low_hz: float, high_hz: float) -> float:
    """Pitch from the autocorrelation peak of a steady stretch."""
    segment = audio[4410 : 4410 + 8192].astype(np.float64)
    segment -= segment.mean()
    corr = np.correlate(segment, segment, mode="full")[segment.size - 1 :]
    lags = np.arange(int(44100 / high_hz), int(44100 / low_hz))
    return 44100 / lags[np.argmax(corr[lags])]


@pytest.mark.parametrize("offset", [-2, 1, 2])
def test_notes_between_samples_are_resampled_to_pitch(offset):
    info = assets.instrument_info("fingered_bass")
    stored = info["notes"][2]
    sampled, _ = assets.note("fingered_bass", stored, 100)
    shifted, sustained = assets.note("fingered_bass", stored + offset, 100)
    assert not sustained
    f_stored = _fundamental_hz(sampled, 30, 200)
    f_shifted = _fundamental_hz(shifted, 30, 200)
    assert f_shifted / f_stored == pytest.approx(2 ** (offset / 12), rel=0.015)


def test_unknown_instrument_is_named():
    with pytest.raises(assets.DemoAssetError, match="theremin"):
        assets.note("theremin", 60, 100)
