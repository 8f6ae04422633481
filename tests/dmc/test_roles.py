import pytest

from dmc.roles import ROLES, check_role, role_from_name, side_from_name, words


@pytest.mark.parametrize(
    "name,role",
    [
        ("03_kick_in.wav", "kick"),
        ("overhead_L.flac", "overhead"),
        ("Bass DI.wav", "bass"),
        ("Bass Drum.wav", "kick"),  # the phrase wins over the word "bass"
        ("hi-hat.wav", "hihat"),
        ("HiHat.wav", "hihat"),
        ("tom_2.wav", "tom"),
        ("tom1.wav", "tom"),
        ("LeadVox.flac", "vocals"),
        ("electric guitar 2.wav", "guitar"),
        ("Song_RAW_03_01.wav", None),
        ("take.wav", None),
    ],
)
def test_role_from_name(name, role):
    assert role_from_name(name) == role


def test_words_split_camel_case_and_digits():
    assert words("03_KickIn2.WAV") == ["kick", "in"]


def test_every_mapped_role_is_in_the_vocabulary():
    from dmc import roles

    assert set(roles._WORDS.values()) <= set(ROLES)
    assert {r for _, r in roles._PHRASES} <= set(ROLES)
    with pytest.raises(ValueError, match="banjo"):
        check_role("banjo")


@pytest.mark.parametrize(
    ("name", "side"),
    [
        ("overhead_L.flac", -1.0),
        ("OH R.wav", 1.0),
        ("Overhead Left.wav", -1.0),
        ("Piano-Right.wav", 1.0),
        ("room_lt.wav", -1.0),
        ("kick.wav", 0.0),
        ("Rhodes.wav", 0.0),  # a word that merely starts with R
        ("LR mix.wav", 0.0),  # both sides at once: no side
        ("guitar_1.wav", 0.0),
    ],
)
def test_side_from_name(name, side):
    assert side_from_name(name) == side
