"""Instrument roles of multitrack channels and how to read them off file names.

A role is what a mixing engineer needs to know about a channel before listening
("this is the kick mic"). Loaders map their own labels (ENST mic names, MedleyDB
instrument labels, file names) onto this one vocabulary, and the encoder is trained to
recognise it, so the console never depends on any dataset's naming.
"""

from __future__ import annotations

import re

#: The role vocabulary, grouped drums first. ``other`` is the fallback.
ROLES: tuple[str, ...] = (
    "kick",
    "snare",
    "hihat",
    "tom",
    "overhead",
    "room",
    "cymbal",
    "percussion",
    "drums",
    "bass",
    "guitar",
    "keys",
    "synth",
    "strings",
    "pad",
    "brass",
    "woodwind",
    "vocals",
    "lead",
    "other",
)

DRUM_ROLES = frozenset(
    {"kick", "snare", "hihat", "tom", "overhead", "room", "cymbal", "percussion", "drums"}
)

# Multi-word phrases come first: "bass drum" is a kick, not a bass.
_PHRASES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("bass", "drum"), "kick"),
    (("kick", "drum"), "kick"),
    (("hi", "hat"), "hihat"),
    (("high", "hat"), "hihat"),
    (("floor", "tom"), "tom"),
    (("over", "head"), "overhead"),
    (("drum", "set"), "drums"),
    (("drum", "kit"), "drums"),
    (("drum", "machine"), "drums"),
    (("electric", "bass"), "bass"),
    (("double", "bass"), "bass"),
    (("acoustic", "guitar"), "guitar"),
    (("electric", "guitar"), "guitar"),
    (("electric", "piano"), "keys"),
    (("lead", "vocal"), "vocals"),
    (("male", "singer"), "vocals"),
    (("female", "singer"), "vocals"),
    (("string", "section"), "strings"),
    (("horn", "section"), "brass"),
)

_WORDS: dict[str, str] = {
    # drums
    "kick": "kick",
    "kik": "kick",
    "bd": "kick",
    "bassdrum": "kick",
    "kickdrum": "kick",
    "snare": "snare",
    "snr": "snare",
    "sn": "snare",
    "sd": "snare",
    "hihat": "hihat",
    "hh": "hihat",
    "hat": "hihat",
    "hats": "hihat",
    "tom": "tom",
    "toms": "tom",
    "floortom": "tom",
    "rack": "tom",
    "overhead": "overhead",
    "overheads": "overhead",
    "oh": "overhead",
    "ovh": "overhead",
    "room": "room",
    "ambience": "room",
    "amb": "room",
    "cymbal": "cymbal",
    "ride": "cymbal",
    "crash": "cymbal",
    "percussion": "percussion",
    "perc": "percussion",
    "shaker": "percussion",
    "tambourine": "percussion",
    "conga": "percussion",
    "bongo": "percussion",
    "drums": "drums",
    "drum": "drums",
    "drumset": "drums",
    "kit": "drums",
    # pitched
    "bass": "bass",
    "bs": "bass",
    "sub": "bass",
    "guitar": "guitar",
    "gtr": "guitar",
    "gt": "guitar",
    "gtrs": "guitar",
    "keys": "keys",
    "piano": "keys",
    "pno": "keys",
    "rhodes": "keys",
    "organ": "keys",
    "wurlitzer": "keys",
    "clavinet": "keys",
    "epiano": "keys",
    "synth": "synth",
    "synthesizer": "synth",
    "arp": "synth",
    "strings": "strings",
    "string": "strings",
    "violin": "strings",
    "viola": "strings",
    "cello": "strings",
    "str": "strings",
    "pad": "pad",
    "pads": "pad",
    "brass": "brass",
    "trumpet": "brass",
    "trombone": "brass",
    "horn": "brass",
    "horns": "brass",
    "tuba": "brass",
    "woodwind": "woodwind",
    "flute": "woodwind",
    "sax": "woodwind",
    "saxophone": "woodwind",
    "clarinet": "woodwind",
    "oboe": "woodwind",
    "vocals": "vocals",
    "vocal": "vocals",
    "vox": "vocals",
    "voice": "vocals",
    "singer": "vocals",
    "bgv": "vocals",
    "choir": "vocals",
    "lead": "lead",
    "melody": "lead",
}


def words(name: str) -> list[str]:
    """Split a file or track name into lower-case words.

    Splits on any non-letter and at camelCase and letter/digit boundaries, so
    ``"03_kick_in.wav"``, ``"KickIn"`` and ``"tom1"`` all yield the word they hold.
    """
    stem = re.sub(r"\.[A-Za-z0-9]{2,4}$", "", name)
    stem = re.sub(r"([a-z])([A-Z])", r"\1 \2", stem)
    return [w.lower() for w in re.findall(r"[A-Za-z]+", stem)]


def role_from_name(name: str) -> str | None:
    """The role a file or track name states as a word, or ``None`` if it states none.

    >>> role_from_name("03_kick_in.wav"), role_from_name("overhead_L.flac"), role_from_name("Bass DI.wav")
    ('kick', 'overhead', 'bass')
    """
    tokens = words(name)
    for phrase, role in _PHRASES:
        n = len(phrase)
        if any(tuple(tokens[i : i + n]) == phrase for i in range(len(tokens) - n + 1)):
            return role
    found = [_WORDS[t] for t in tokens if t in _WORDS]
    # "lead" and "melody" say little ("lead vox", "lead guitar"): any instrument word wins.
    specific = [r for r in found if r != "lead"]
    return (specific or found or [None])[0]


def check_role(role: str) -> str:
    """Return ``role`` if it is in the vocabulary, else raise a ValueError naming it."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    return role


#: Words that say which side of a stereo pair a channel is: "overhead_L", "OH Right", "Piano-R".
_SIDE_WORDS = {"l": -1.0, "left": -1.0, "lt": -1.0, "r": 1.0, "right": 1.0, "rt": 1.0}


def side_from_name(name: str) -> float:
    """-1 for a channel named as the left of a pair, +1 for the right, 0 when the name says neither.

    Engineers name the two microphones of a pair ``OH L`` / ``OH R``; nothing in their sound
    says which is which, so a console that should pan them apart needs the name.

    >>> side_from_name("overhead_L.flac"), side_from_name("Piano Right.wav"), side_from_name("kick.wav")
    (-1.0, 1.0, 0.0)
    """
    found = {_SIDE_WORDS[w] for w in words(name) if w in _SIDE_WORDS}
    return found.pop() if len(found) == 1 else 0.0
