"""dmc.decode: any format libsndfile or ffmpeg reads, one-line errors naming what to install."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from scipy import signal

from dmc import decode
from dmc.audio import AudioError, write_audio
from dmc.decode import read_any_audio

RATE = 44100

needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None, reason="ffmpeg is not installed (apt-get install ffmpeg)"
)


def _noise(seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    """Noise below 4 kHz (what a lossy codec keeps), ``(2, samples)``."""
    rng = np.random.default_rng(seed)
    b, a = signal.butter(4, 4000, fs=RATE)
    noise = signal.lfilter(b, a, rng.standard_normal((2, int(seconds * RATE))), axis=1)
    return (0.2 * noise / np.abs(noise).max()).astype(np.float32)


def ffmpeg_convert(source, target, *options: str) -> None:
    subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(source),
            *options,
            str(target),
        ],
        check=True,
        timeout=60,
    )


def test_lossless_files_are_read_by_libsndfile_and_resampled(tmp_path):
    audio = _noise()
    write_audio(tmp_path / "a.wav", audio, RATE)
    found = read_any_audio(tmp_path / "a.wav")
    assert found.reader == "libsndfile" and found.sample_rate == found.file_sample_rate == RATE
    np.testing.assert_allclose(found.audio, audio, atol=1e-7)
    half = read_any_audio(tmp_path / "a.wav", sample_rate=RATE // 2)
    assert half.sample_rate == RATE // 2 and half.file_sample_rate == RATE
    assert half.audio.shape == (2, RATE // 2)


@needs_ffmpeg
@pytest.mark.parametrize(
    "suffix, options", [(".m4a", ["-c:a", "aac", "-b:a", "192k"]), (".wma", [])]
)
def test_formats_libsndfile_lacks_are_read_through_ffmpeg(tmp_path, suffix, options):
    """AAC keeps the signal's start (ffmpeg honours the m4a's encoder delay) and pads at most
    one frame; WMA is read too. Levels survive the 16- or 32-bit PCM pydub hands over."""
    audio = _noise(seed=1)
    write_audio(tmp_path / "a.wav", audio, RATE)
    ffmpeg_convert(tmp_path / "a.wav", tmp_path / f"a{suffix}", *options)
    found = read_any_audio(tmp_path / f"a{suffix}")
    assert found.reader == "ffmpeg" and found.channels == 2 and found.sample_rate == RATE
    assert abs(found.audio.shape[1] - RATE) <= 2048
    rms = lambda x: float(np.sqrt(np.mean(x**2)))  # noqa: E731
    assert rms(found.audio) == pytest.approx(rms(audio), rel=0.1)
    if suffix == ".m4a":
        n = min(found.audio.shape[1], RATE)
        correlation = np.corrcoef(found.audio[0, :n], audio[0, :n])[0, 1]
        assert correlation > 0.9  # aligned from the first sample


@needs_ffmpeg
def test_a_file_nothing_decodes_is_one_line_naming_both_decoders(tmp_path):
    (tmp_path / "x.m4a").write_text("not audio")
    with pytest.raises(AudioError) as error:
        read_any_audio(tmp_path / "x.m4a")
    message = str(error.value)
    assert "\n" not in message and "neither libsndfile" in message and "nor ffmpeg" in message


def test_missing_ffmpeg_names_the_package_to_install(tmp_path, monkeypatch):
    (tmp_path / "x.m4a").write_bytes(b"\x00" * 64)
    monkeypatch.setattr(decode.shutil, "which", lambda name: None)
    with pytest.raises(
        AudioError, match=r"ffmpeg, which reads the other formats, is not installed; install ffmpeg"
    ):
        read_any_audio(tmp_path / "x.m4a")


def test_missing_pydub_names_the_package_to_install(tmp_path, monkeypatch):
    (tmp_path / "x.m4a").write_bytes(b"\x00" * 64)
    monkeypatch.setattr(decode, "ffmpeg_available", lambda: True)

    def no_pydub():
        raise ImportError("No module named 'pydub'")

    monkeypatch.setattr(decode, "_import_pydub", no_pydub)
    with pytest.raises(
        AudioError, match=r"needs pydub; install the pydub package \(pip install 'pydub>=0.25'\)"
    ):
        read_any_audio(tmp_path / "x.m4a")


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(AudioError, match="audio file not found"):
        read_any_audio(tmp_path / "nope.wav")
    write_audio(tmp_path / "empty.wav", np.zeros((2, 0), np.float32), RATE)
    with pytest.raises(AudioError, match="holds no audio samples"):
        read_any_audio(tmp_path / "empty.wav")
