import math

import numpy as np
import pytest

from dmc import audio

SR = 44100


@pytest.mark.parametrize("suffix,subtype,tol", [(".wav", None, 1e-7), (".flac", None, 1 / 2**14)])
def test_lossless_round_trip(tmp_path, music_stereo, suffix, subtype, tol):
    path = audio.write_audio(tmp_path / f"x{suffix}", music_stereo, SR, subtype)
    back, sr = audio.read_audio(path)
    assert sr == SR and back.shape == music_stereo.shape and back.dtype == np.float32
    np.testing.assert_allclose(back, music_stereo, atol=tol)


def test_write_leaves_no_temporary_files(tmp_path, music_stereo):
    audio.write_audio(tmp_path / "a.flac", music_stereo, SR)
    assert [p.name for p in tmp_path.iterdir()] == ["a.flac"]


def test_partial_read_and_mono(tmp_path, music_stereo):
    path = audio.write_audio(tmp_path / "a.wav", music_stereo, SR)
    part, _ = audio.read_audio(path, start=1000, frames=500, mono=True)
    np.testing.assert_allclose(part[0], music_stereo[:, 1000:1500].mean(axis=0), atol=1e-7)


def test_missing_and_unreadable_files_name_the_file(tmp_path):
    with pytest.raises(audio.AudioError, match="nope.wav"):
        audio.read_audio(tmp_path / "nope.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really a wave file")
    with pytest.raises(audio.AudioError, match="bad.wav"):
        audio.read_audio(bad)
    with pytest.raises(audio.AudioError, match="x.ogg"):
        audio.write_audio(tmp_path / "x.ogg", np.zeros((1, 10)), SR)


@pytest.mark.parametrize("orig,target", [(48000, 44100), (22050, 44100), (44100, 16000)])
def test_resample_keeps_a_tone_and_its_duration(orig, target):
    t = np.arange(orig) / orig
    tone = np.sin(2 * np.pi * 1000 * t).astype(np.float32)[None]
    out = audio.resample(tone, orig, target)
    assert out.shape == (1, target)
    spectrum = np.abs(np.fft.rfft(out[0] * np.hanning(target)))
    assert abs(np.argmax(spectrum) * target / target - 1000) <= 1


def test_mono_stereo_helpers():
    x = np.stack([np.ones(4), -np.ones(4)])
    np.testing.assert_allclose(audio.to_mono(x), np.zeros((1, 4)))
    assert audio.to_stereo(np.ones(4)).shape == (2, 4)
    with pytest.raises(ValueError):
        audio.to_stereo(np.ones((3, 4)))


def test_loudness_of_a_full_scale_sine_matches_bs1770():
    # BS.1770: a 997 Hz sine at 0 dBFS on one channel reads -3.01 LUFS.
    t = np.arange(5 * SR) / SR
    sine = np.sin(2 * np.pi * 997 * t)[None]
    assert audio.integrated_loudness(sine, SR) == pytest.approx(-3.01, abs=0.05)
    assert audio.integrated_loudness(np.zeros((2, SR)), SR) == -math.inf


def test_true_peak_sees_inter_sample_overs():
    # A sine at fs/4 sampled 45 degrees off its crests: samples peak at 0.707, the wave at 1.
    n = np.arange(4000)
    x = np.sin(2 * np.pi * n / 4 + np.pi / 4)[None]
    assert np.max(np.abs(x)) == pytest.approx(math.sqrt(0.5), abs=1e-6)
    assert audio.true_peak_db(x, SR) == pytest.approx(0.0, abs=0.3)


def test_normalize_loudness_hits_target_and_reports_peak(music_stereo):
    out, report = audio.normalize_loudness(music_stereo, SR, target_lufs=-23.0)
    assert audio.integrated_loudness(out, SR) == pytest.approx(-23.0, abs=0.01)
    assert report.output_lufs == pytest.approx(-23.0, abs=0.01)
    assert report.true_peak_dbtp == pytest.approx(audio.true_peak_db(out, SR))
    with pytest.raises(ValueError, match="silent"):
        audio.normalize_loudness(np.zeros((2, SR)), SR)
    with pytest.raises(ValueError, match="peak_policy"):
        audio.normalize_loudness(music_stereo, SR, peak_policy="ignore")


def test_limit_policy_keeps_loudness_and_ceiling(make_drums):
    # Very peaky material: at -14 LUFS its transients exceed -1 dBTP.
    drums = make_drums(8.0)[None]
    _, reported = audio.normalize_loudness(drums, SR, target_lufs=-14.0, peak_policy="report")
    assert reported.peak_over_ceiling
    out, limited = audio.normalize_loudness(drums, SR, target_lufs=-14.0, peak_policy="limit")
    assert limited.limited and limited.true_peak_dbtp <= -1.0 + 0.05
    assert audio.integrated_loudness(out, SR) == pytest.approx(-14.0, abs=0.3)


@pytest.mark.parametrize("target", [-23.0, -16.0])
def test_mp3_round_trip_keeps_loudness_within_half_a_lu(tmp_path, music_stereo, target):
    normalized, _ = audio.normalize_loudness(music_stereo, SR, target_lufs=target)
    path = audio.encode_mp3(tmp_path / "mix.mp3", normalized, SR)
    decoded, sr = audio.decode_mp3(path)
    assert sr == SR
    assert decoded.shape == normalized.shape  # encoder delay and padding are removed
    assert abs(audio.integrated_loudness(decoded, sr) - target) < 0.5


def test_mp3_is_vbr_v2_bitrate(tmp_path, music_stereo):
    # Broadband material (like a full mix) so the VBR encoder has something to spend bits on.
    rng = np.random.default_rng(1)
    pink = np.cumsum(rng.standard_normal((2, music_stereo.shape[1])), axis=1)
    pink -= np.convolve(pink[0], np.ones(64) / 64, mode="same")[None]
    rich = (
        music_stereo
        + 0.02 * pink / np.abs(pink).max()
        + 0.01 * rng.standard_normal(music_stereo.shape)
    )
    normalized, _ = audio.normalize_loudness(rich, SR)
    sizes = {}
    for q in (0, 2, 6):
        path = audio.encode_mp3(tmp_path / f"q{q}.mp3", normalized, SR, vbr_quality=q)
        sizes[q] = path.stat().st_size * 8 / 10.0 / 1000.0  # kbps over 10 s
    assert sizes[0] > sizes[2] > sizes[6]  # quality really maps onto bit rate
    assert 120 < sizes[2] < 260
    with pytest.raises(ValueError):
        audio.encode_mp3(tmp_path / "bad.mp3", normalized, SR, vbr_quality=11)
