"""The pure parts of the held-out multitrack script: MIDI files, hydrogen kits, licences, presets.

The songs themselves need Debian's fluidsynth, hydrogen-drumkits and timgm6mb-soundfont,
which CI does not install; what decides their correctness without those packages is
tested here on tiny fixtures.
"""

from __future__ import annotations

import importlib
import struct
import sys
from pathlib import Path

import pytest

from dmc.datasets.demo.music import Note
from dmc.roles import role_from_name

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.fixture(scope="module")
def sources():
    sys.path.insert(0, str(SCRIPTS))
    try:
        yield importlib.import_module("heldout_sources")
    finally:
        sys.path.remove(str(SCRIPTS))


@pytest.fixture(scope="module")
def script(sources):
    sys.path.insert(0, str(SCRIPTS))
    try:
        yield importlib.import_module("make_heldout_multitracks")
    finally:
        sys.path.remove(str(SCRIPTS))


def read_events(data: bytes) -> tuple[int, list[tuple[int, bytes]]]:
    """``(ticks per quarter, [(absolute tick, message)])`` of a format-0 file (channel and meta events)."""
    assert data[:4] == b"MThd"
    _, fmt, tracks, division = struct.unpack(">IHHH", data[4:14])
    assert (fmt, tracks) == (0, 1)
    assert data[14:18] == b"MTrk"
    (length,) = struct.unpack(">I", data[18:22])
    body, at, tick, events = data[22:], 0, 0, []
    assert len(body) == length
    while at < len(body):
        delta = 0
        while True:
            byte = body[at]
            at += 1
            delta = (delta << 7) | (byte & 0x7F)
            if byte < 0x80:
                break
        tick += delta
        if body[at] == 0xFF:
            size = body[at + 2]
            events.append((tick, body[at : at + 3 + size]))
            at += 3 + size
        else:
            size = 2 if body[at] >> 4 in (0xC, 0xD) else 3
            events.append((tick, body[at : at + size]))
            at += size
    return division, events


@pytest.mark.parametrize(
    "value, encoded",
    [
        (0, b"\x00"),
        (127, b"\x7f"),
        (128, b"\x81\x00"),
        (16383, b"\xff\x7f"),
        (2_097_152, b"\x81\x80\x80\x00"),
    ],
)
def test_variable_length_quantities_follow_the_midi_standard(sources, value, encoded):
    assert sources._varlen(value) == encoded


def test_a_midi_file_plays_every_note_at_its_time_and_ends_an_overlapped_note_first(sources):
    notes = [
        Note(0.5, 1.0, 60, 90.4),
        Note(1.0, 0.25, 60, 200.0),
        Note(0.0, 1.0, 48, 50),  # struck twice at once: the later-listed one sounds
        Note(0.0, 2.0, 48, 0.2),
    ]
    division, events = read_events(sources.midi_file(notes, program=33))
    assert division == 480
    tempo = next(m for _, m in events if m[:2] == b"\xff\x51")
    assert int.from_bytes(tempo[3:], "big") == 500_000  # 960 ticks per second
    assert (0, bytes([0xC0, 33])) in events and (0, bytes([0xB0, 10, 64])) in events
    assert (0, bytes([0xB0, 91, 0])) in events and (0, bytes([0xB0, 93, 0])) in events
    ons = [(t, m[1], m[2]) for t, m in events if m[0] == 0x90]
    offs = [(t, m[1]) for t, m in events if m[0] == 0x80]
    assert sorted(ons) == [(0, 48, 1), (480, 60, 90), (960, 60, 127)]  # velocities clipped to 1-127
    # the first C4 would sound until 1.5 s, but the second C4 starts at 1.0 s: it ends there
    assert sorted(offs) == [(960, 60), (1200, 60), (1920, 48)]
    # at one tick the note-off comes before the note-on, so the new note is not cut
    same_tick = [m[0] for t, m in events if t == 960 and m[0] in (0x80, 0x90)]
    assert same_tick == [0x80, 0x90]
    assert events[-1][1] == b"\xff\x2f\x00"


KIT_XML = """<?xml version="1.0"?>
<drumkit_info xmlns="http://www.hydrogen-music.org/drumkit">
 <name>Tiny</name><author>Someone</author><license>GPL</license>
 <instrumentList>
  <instrument><id>0</id><name>Kick</name><volume>0.8</volume>
   <layer><filename>k_soft.wav</filename><min>0</min><max>0.5</max><gain>1.5</gain></layer>
   <layer><filename>k_hard.wav</filename><min>0.5</min><max>1</max><gain>1</gain></layer>
  </instrument>
  <instrument><id>1</id><name>Old Hat</name><volume>1</volume><filename>hat.wav</filename></instrument>
  <instrument><id>2</id><name>Empty</name><volume>1</volume></instrument>
 </instrumentList>
</drumkit_info>
"""


def test_a_hydrogen_kit_gives_its_licence_instruments_and_velocity_layers(sources):
    info, instruments = sources.parse_drumkit(KIT_XML)
    assert info == {"name": "Tiny", "author": "Someone", "license": "GPL"}
    assert set(instruments) == {"Kick", "Old Hat"}  # an instrument without samples is left out
    volume, layers = instruments["Kick"]
    assert volume == 0.8 and [layer.file for layer in layers] == ["k_soft.wav", "k_hard.wav"]
    assert instruments["Old Hat"][1] == [sources.Layer("hat.wav", 0.0, 1.0, 1.0)]
    assert sources.pick_layer(layers, 30).file == "k_soft.wav"
    assert sources.pick_layer(layers, 120).file == "k_hard.wav"
    gap = [sources.Layer("a.wav", 0.0, 0.2, 1.0), sources.Layer("b.wav", 0.6, 1.0, 1.0)]
    assert (
        sources.pick_layer(gap, 0.35 * 127).file == "a.wav"
    )  # nearest centre when no range holds it


COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: drumkits/Gimme?A?Hand?1.0.h2drumkit
 drumkits/The?Black?Pearl?1.0.h2drumkit
Copyright: Glen MacArthur
License: GPL-2
Comment:
 License listed in file drumkit.xml.

Files: drumkits/BJA_Pacific.h2drumkit
Copyright: Luc Tunguay
License: CC-BY-SA-3.0-us
"""


def test_the_licence_of_a_kit_comes_from_debians_copyright_paragraph(sources):
    assert sources.debian_licence(COPYRIGHT, "The Black Pearl 1.0") == "GPL-2"
    assert sources.debian_licence(COPYRIGHT, "BJA_Pacific") == "CC-BY-SA-3.0-us"
    assert sources.debian_licence(COPYRIGHT, "Black Pearl") is None


def test_soundfont_preset_names_come_from_the_phdr_chunk(sources):
    def record(name: str, program: int, bank: int) -> bytes:
        return struct.pack("<20sHHHIII", name.encode(), program, bank, 0, 0, 0, 0)

    chunk = record("Piano 1", 0, 0) + record("Standard", 0, 128) + record("EOP", 0, 0)
    data = b"RIFF....sfbkLIST....pdtaphdr" + struct.pack("<I", len(chunk)) + chunk + b"pbag"
    assert sources.soundfont_presets(data) == {(0, 0): "Piano 1", (128, 0): "Standard"}
    assert sources.soundfont_presets(b"no presets here") == {}


def test_every_track_the_script_writes_is_named_for_its_role(script):
    names = {
        "kick": "kick",
        "snare": "snare",
        "hihat": "hihat",
        "tom_1": "tom",
        "tom_2": "tom",
        "tom_3": "tom",
        "overhead_L": "overhead",
        "overhead_R": "overhead",
        "drums": "drums",
        "bass": "bass",
        "guitar": "guitar",
        "guitar_1": "guitar",
        "guitar_2": "guitar",
        "strings": "strings",
        "lead": "lead",
    }
    names |= dict.fromkeys(script.KEYS_FILE.values(), "keys")
    written = {n for drums in script.BAND_DRUMS for n in drums} | set(script.KEYS_FILE.values())
    assert written <= set(names)
    for name, role in names.items():
        assert role_from_name(f"{name}.flac") == role, name


def test_the_held_out_kits_are_not_the_demos(sources):
    demo = {"rumpf_kit_z01_h2", "Audiophob"}
    assert not demo & {folder for folder, _ in sources.KITS.values()}
    assert "FluidR3" not in str(sources.SOUNDFONT)
