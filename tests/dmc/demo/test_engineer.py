"""The reference engineer: targets the console can reach, in its own parameter space."""

from __future__ import annotations

import numpy as np
import pytest

from dmc.datasets.demo import engineer
from dmc.effects.chain import mix
from dmc.effects.params import CHANNEL_STRIP
from dmc.staging import GainStaging


def _settings(song, key="settings"):
    return song.metadata["engineer"][key]


@pytest.mark.parametrize("which", ["drum_song", "full_song"])
def test_target_is_the_reference_chain_applied_with_the_stored_settings(which, request):
    song = request.getfixturevalue(which)
    tracks = np.stack([t.audio[0] for t in song.tracks])
    stages = song.metadata["engineer"]["stages"]
    rendered, _ = mix(tracks, song.sample_rate, _settings(song), stages)
    assert np.max(np.abs(rendered - song.target.audio)) < 2e-4  # 16-bit rounding of the target


@pytest.mark.parametrize("which", ["drum_song", "full_song"])
def test_staged_settings_reach_the_target_from_staged_tracks(which, request):
    """What the console sees (tracks trimmed to -30 LUFS) plus the staged settings gives the target."""
    song = request.getfixturevalue(which)
    tracks = np.stack([t.audio[0] for t in song.tracks])
    gains = GainStaging().gains_db(tracks, song.sample_rate)
    np.testing.assert_allclose(gains, song.metadata["engineer"]["staging_gain_db"], atol=0.05)
    staged = GainStaging().apply(tracks, song.sample_rate, gains)
    rendered, _ = mix(
        staged,
        song.sample_rate,
        _settings(song, "staged_settings"),
        song.metadata["engineer"]["stages"],
    )
    assert np.max(np.abs(rendered - song.target.audio)) < 2e-3


def test_every_setting_is_inside_the_channel_strip(drum_test_songs, full_test_songs):
    neutral = CHANNEL_STRIP.to_dict(CHANNEL_STRIP.defaults())
    for song in [*drum_test_songs, *full_test_songs]:
        for key in ("settings", "staged_settings"):
            for strip in _settings(song, key):
                CHANNEL_STRIP.from_dict(strip, fill_defaults=False)  # raises outside a range
        if song.metadata["task"] == "drums":
            for strip in _settings(song):
                changed = {k for k in strip if strip[k] != neutral[k]}
                assert changed <= {"gain_db", "pan"}


def test_drum_pans_follow_the_kit_and_the_perspective(drum_test_songs):
    for song in drum_test_songs:
        pans = {n: s["pan"] for n, s in zip(song.track_names, _settings(song))}
        audience = song.metadata["engineer"]["style"]["perspective"] == "audience"
        left, right = ("overhead_R", "overhead_L") if audience else ("overhead_L", "overhead_R")
        assert pans[left] < 0.4 and pans[right] > 0.6
        assert abs(pans["kick"] - 0.5) < 0.06
        # The hi-hat sits on the drummer's left, the floor tom on the right.
        assert (pans["hihat"] > pans["tom_3"]) == audience


def _context(**changes):
    context = {
        "hihat_hits_per_second": 4.0,
        "accompaniment_tracks": 3,
        "guitars": 1,
        "drum_x_m": {"hihat": -0.55, "snare": -0.28},
    }
    return context | changes


def _mix(task, names, roles, context, seed=5):
    rng = np.random.default_rng(0)
    tracks = (rng.standard_normal((len(names), 44100)) * 0.05).astype(np.float32)
    return engineer.mix_song(
        task,
        tracks,
        names,
        roles,
        [-26.0] * len(names),
        44100,
        np.random.default_rng(seed),
        context,
    )


def test_a_busy_hihat_sits_lower():
    names, roles = ["kick", "snare", "hihat"], ["kick", "snare", "hihat"]
    calm = _mix("drums", names, roles, _context(hihat_hits_per_second=4.0))
    busy = _mix("drums", names, roles, _context(hihat_hits_per_second=8.0))
    assert busy.settings[2]["gain_db"] == pytest.approx(calm.settings[2]["gain_db"] - 1.5, abs=1e-3)
    assert busy.settings[0] == calm.settings[0]


def test_a_busier_arrangement_pushes_the_lead_up():
    names, roles = ["bass", "keys", "lead"], ["bass", "keys", "lead"]
    sparse = _mix("full", names, roles, _context(accompaniment_tracks=2))
    dense = _mix("full", names, roles, _context(accompaniment_tracks=5))
    lead_gain = dense.settings[2]["fader_db"] - sparse.settings[2]["fader_db"]
    assert lead_gain == pytest.approx(0.75 * 3, abs=0.05)
    assert dense.settings[0]["fader_db"] == pytest.approx(sparse.settings[0]["fader_db"], abs=1e-3)


def test_unknown_task_is_named():
    with pytest.raises(ValueError, match="unknown task 'karaoke'"):
        _mix("karaoke", ["kick"], ["kick"], _context())
