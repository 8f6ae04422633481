"""Blinding down to the bytes, tried the way a rater with developer tools would.

The render is made by the renderer's own finishing step (:func:`dmc.render.finish.
finish_condition`: loudness normalisation, VBR MP3, decode and measure) from seeded music,
with the anchors low-passed by :func:`dmc.mixers.references.lowpass` and a mono sum, so the files
differ in size and in their encoder fields as in a real test with anchors. The test
config is BS.1534's arrangement: open and hidden reference, both anchors.

For every trial the attacker reads, with Range requests only, the first 10 bytes, the
first and the last 4 KiB and the first MP3 frame of each stimulus (every letter and the
open reference), parses the ID3v2 tag and the Xing/Info frame with parsers written here
(not the app's), and compares across the conditions. The same reading of the files on
disk shows the fields that did tell the conditions apart, so the test sees the attack
work where nothing blinds. Then every served stimulus is decoded with libsndfile and
ffmpeg: the same samples as the file on disk, the same gapless length, and the duration
and loudness the manifest records.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from dmc.audio import integrated_loudness
from dmc.contracts.manifest import Condition, Manifest, PassageEntry
from dmc.contracts.policies import LoudnessPolicy
from dmc.mixers.references import lowpass
from dmc.render.finish import finish_condition

SAMPLE_RATE = 44100
SECONDS = 2.5
EDGE = 4096


def _music(seed: int) -> np.ndarray:
    """Seeded stereo music-like audio: a chord, a kick and bright hi-hat noise."""
    rng = np.random.default_rng(seed)
    n = int(SECONDS * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    chord = sum(np.sin(2 * np.pi * f * t) for f in rng.choice([110, 146.8, 220, 277.2, 329.6], 3))
    beat = (t * 4) % 1.0
    kick = np.sin(2 * np.pi * 55 * t) * np.exp(-beat * 20)
    hats = rng.standard_normal(n) * np.exp(-((t * 8) % 1.0) * 30)
    left = 0.1 * chord + 0.4 * kick + 0.15 * hats
    right = 0.1 * np.roll(chord, 300) + 0.4 * kick + 0.15 * rng.standard_normal(n) * (beat < 0.1)
    return np.stack([left, right]).astype(np.float32)


def _conditions(music: np.ndarray, seed: int, drums: bool) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    mono = np.repeat(music.mean(axis=0, keepdims=True), 2, axis=0)
    out = {
        "target": music,
        "console": music * np.array([[0.9], [1.1]], dtype=np.float32),
        "random": music * rng.uniform(0.2, 1.0, (2, 1)).astype(np.float32)
        + 0.02 * rng.standard_normal(music.shape).astype(np.float32),
        "mono": mono,
        "anchor_7k": lowpass(music, SAMPLE_RATE, 7000.0),
        "anchor_3k5": lowpass(music, SAMPLE_RATE, 3500.0),
    }
    if drums:
        out["demucs"] = lowpass(music, SAMPLE_RATE, 12000.0)
    return out


@pytest.fixture(scope="module")
def anchor_render(tmp_path_factory):
    """Two drums and two full-mix passages, finished as the renderer finishes them."""
    folder = tmp_path_factory.mktemp("anchor-render")
    tasks, seed = {}, 100
    for task in ("drums", "full"):
        entries = []
        for i in range(2):
            seed += 1
            conditions = []
            for j, (method, audio) in enumerate(
                _conditions(_music(seed), seed, task == "drums").items()
            ):
                name = f"audio/{seed:03d}{j:02d}.mp3"  # opaque, as the renderer's names are
                (folder / "audio").mkdir(exist_ok=True)
                fields = finish_condition(audio, SAMPLE_RATE, folder / name, LoudnessPolicy(), None)
                conditions.append(Condition(method=method, file=name, **fields))
            entries.append(
                PassageEntry(f"song{i}@{10 * i:07.2f}s", f"song{i}", 10.0 * i, SECONDS, conditions)
            )
        tasks[task] = entries
    Manifest(tasks, "2026-01-01T00:00:00Z", "0.1.0", SAMPLE_RATE, seeds={}).save(
        folder / "manifest.json"
    )
    (folder / "test.yaml").write_text("reference: both\nanchors: true\n")
    return folder


@pytest.fixture
def anchor_client(make_app, anchor_render):
    app = make_app(
        MANIFEST_PATH=str(anchor_render / "manifest.json"),
        TEST_CONFIG=str(anchor_render / "test.yaml"),
    )
    return app.test_client()


# --------------------------------------------------------------------------- the attacker


def _syncsafe(raw: bytes) -> int:
    assert all(b < 0x80 for b in raw), raw
    return (raw[0] << 21) | (raw[1] << 14) | (raw[2] << 7) | raw[3]


def parse_id3v2(head: bytes) -> dict:
    """ID3v2 header and frames: (id, size, flags, owner of a PRIV frame), payloads apart."""
    if head[:3] != b"ID3":
        return {"tag": None}
    size = 10 + _syncsafe(head[6:10])
    frames, payloads, at = [], [], 10
    while at + 10 <= min(size, len(head)) and head[at : at + 4] != b"\0\0\0\0":
        frame_id, frame_size = head[at : at + 4], _syncsafe(head[at + 4 : at + 8])
        body = head[at + 10 : at + 10 + frame_size]
        owner = body.split(b"\0", 1)[0] if frame_id == b"PRIV" else None
        frames.append((frame_id, frame_size, head[at + 8 : at + 10], owner))
        skip = 0 if owner is None else len(owner) + 1
        payloads.append((at + 10 + skip, at + 10 + frame_size))
        at += 10 + frame_size
    return {"tag": head[:10], "size": size, "frames": frames, "payloads": payloads}


def parse_info_frame(frame: bytes) -> dict:
    """The Xing/Info tag of an MPEG-1 Layer III first frame and its LAME extension."""
    assert frame[0] == 0xFF and frame[1] >> 1 & 0x0F == 0x0D, frame[:4].hex()  # MPEG-1 L3
    mono = frame[3] >> 6 == 3
    at = 4 + (17 if mono else 32) + (0 if frame[1] & 1 else 2)
    fields: dict = {"header": frame[:4], "tag": frame[at : at + 4]}
    if fields["tag"] not in (b"Xing", b"Info"):
        return fields
    flags = int.from_bytes(frame[at + 4 : at + 8], "big")
    fields["flags"], at = flags, at + 8
    for bit, name, size in ((1, "frames", 4), (2, "bytes", 4), (4, "toc", 100), (8, "quality", 4)):
        if flags & bit:
            value = frame[at : at + size]
            fields[name] = value if name == "toc" else int.from_bytes(value, "big")
            at += size
    lame = frame[at : at + 36]
    delays = int.from_bytes(lame[21:24], "big")
    fields.update(
        encoder=lame[:9],
        method=lame[9],
        lowpass=lame[10],
        peak=lame[11:15],
        replay_gain=lame[15:19],
        flags_ath=lame[19],
        bitrate=lame[20],
        delay=delays >> 12,
        padding=delays & 0xFFF,
        misc=lame[24],
        mp3_gain=lame[25],
        preset=lame[26:28],
        music_length=int.from_bytes(lame[28:32], "big"),
        music_crc=lame[32:34],
        tag_crc=lame[34:36],
        rest=frame[at + 36 : at + 220],
    )
    return fields


def _range(client, url: str, spec: str) -> bytes:
    with client.get(url, headers={"Range": f"bytes={spec}"}) as response:
        assert response.status_code == 206, (url, spec, response.status_code)
        return response.data


def _trials(client):
    """Every trial of the design, as a rater's browser gets its URLs (conditions + reference)."""
    from webapp.services.study import study_status

    with client.application.app_context():
        design = study_status().study.design
        return [
            (trial, {m: f"/audio/{f}" for m, f in trial.files.items()})
            for trial in design.all_trials
        ]


def test_no_byte_the_browser_can_read_tells_the_conditions_of_a_trial_apart(
    anchor_client, anchor_render
):
    trials = _trials(anchor_client)
    assert trials and all({"anchor_7k", "anchor_3k5", "mono"} <= set(t.files) for t, _ in trials)
    leaks_on_disk = set()
    for trial, urls in trials:
        urls = dict(urls)
        urls["open reference"] = f"/reference-audio/{trial.trial_id}"
        seen = {}
        for who, url in urls.items():
            length = int(anchor_client.head(url).headers["Content-Length"])
            first, last = _range(anchor_client, url, "0-4095"), _range(anchor_client, url, "-4096")
            tag = parse_id3v2(first)
            frame = _range(anchor_client, url, f"{tag['size']}-{tag['size'] + 1999}")
            seen[who] = {
                "length": length,
                "head": _range(anchor_client, url, "0-9"),
                "first": first,
                "last": last,
                "tag": tag,
                "info": parse_info_frame(frame),
            }
        # The first 10 bytes, the length and the last 4 KiB are the same in every file.
        for key in ("head", "length", "last"):
            assert len({repr(s[key]) for s in seen.values()}) == 1, (trial.trial_id, key)
        # One tag structure; its private payloads all differ (a keyed hash per URL), so
        # the open reference's first bytes are not the hidden reference's.
        tags = [s["tag"] for s in seen.values()]
        assert all(tag == tags[0] for tag in tags)  # header, frames, sizes, payload offsets
        spans = tags[0]["payloads"]
        payloads = {s["first"][a:b] for s in seen.values() for a, b in spans}
        assert spans and len(payloads) == len(seen)
        masked = set()
        for s in seen.values():
            first = bytearray(s["first"])
            for a, b in spans:
                first[a:b] = bytes(b - a)
            masked.add(bytes(first))
        assert len(masked) == 1, trial.trial_id  # nothing else in the first 4 KiB differs
        # Every Xing/Info and LAME field is the same, and says nothing of the audio's size.
        infos = [s["info"] for s in seen.values()]
        assert all(info == infos[0] for info in infos), trial.trial_id
        info = infos[0]
        assert info["tag"] in (b"Xing", b"Info") and info["encoder"].startswith(b"LAME")
        assert info["bytes"] == info["music_length"] == seen["target"]["length"] - EDGE
        assert info["frames"] > 0 and info["delay"] > 0 and info["padding"] > 0  # gapless kept
        # On disk, the same parse tells the conditions apart (what blinding removes).
        on_disk = {
            m: parse_info_frame((anchor_render / f).read_bytes()[:2000])
            for m, f in trial.files.items()
        }
        for field in ("bytes", "music_length", "music_crc", "toc"):
            if len({repr(i[field]) for i in on_disk.values()}) > 1:
                leaks_on_disk.add(field)
    assert {"bytes", "music_length", "music_crc", "toc"} <= leaks_on_disk


def _ffmpeg(path) -> np.ndarray:
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "2", "pipe:1"],
        capture_output=True,
        check=True,
    )
    assert out.stderr == b"", out.stderr  # no complaint about the stream or its end
    return np.frombuffer(out.stdout, dtype=np.float32).reshape(-1, 2)


def test_served_stimuli_decode_to_the_rendered_samples(anchor_client, anchor_render, tmp_path):
    if shutil.which("ffmpeg") is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but ffmpeg is not installed")
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    from dmc.contracts.manifest import load_manifest

    manifest = load_manifest(anchor_render)
    expected_samples = round(SECONDS * SAMPLE_RATE)
    trial, urls = _trials(anchor_client)[0]
    urls = {**urls, "open reference": f"/reference-audio/{trial.trial_id}"}
    checked = 0
    for who, url in urls.items():
        method = "target" if who == "open reference" else who
        condition = manifest.files()[trial.files[method]]
        on_disk = anchor_render / condition.file
        with anchor_client.get(url) as response:
            served = response.data
        rendered, rate = sf.read(on_disk, dtype="float32")
        decoded, served_rate = sf.read(io.BytesIO(served), dtype="float32")
        assert served_rate == rate == SAMPLE_RATE
        assert decoded.shape == rendered.shape == (expected_samples, 2), who  # gapless
        assert np.array_equal(decoded, rendered), who
        # What the manifest records stays true of what is served.
        assert decoded.shape[0] / served_rate == pytest.approx(condition.duration_seconds)
        assert integrated_loudness(decoded.T, served_rate) == pytest.approx(
            condition.loudness_lufs, abs=1e-6
        )
        served_file = tmp_path / f"{checked}.mp3"
        served_file.write_bytes(served)
        by_ffmpeg = _ffmpeg(served_file)
        assert by_ffmpeg.shape == (expected_samples, 2), who  # delay and padding trimmed
        assert np.array_equal(by_ffmpeg, _ffmpeg(on_disk)), who
        checked += 1
    assert checked == len(trial.files) + 1
