import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from dmc.audio import difference_db
from dmc.checkpoint import save_model
from dmc.console import DifferentiableMixingConsole
from dmc.effects.params import CHANNEL_STRIP, TCN_PARAMETERS
from dmc.losses import ReferencePanLoss, StereoSumDifferenceLoss
from dmc.pretrained import load_model
from dmc.train.__main__ import SUBCOMMANDS
from dmc.train.__main__ import main as train_main
from dmc.train.console import ConsoleRecipe, _load_weights
from dmc.train.data import (
    ConsoleSegments,
    collate_tracks,
    drum_bus_view,
    follow_envelope,
    stage_songs,
)
from dmc.train.evaluate import main as evaluate_main
from dmc.train.synthetic import CONVENTION, synthetic_songs


def _common(run_dir, steps, extra=()):
    return [
        "--data",
        "synthetic",
        "--num-songs",
        "3",
        "--run-dir",
        str(run_dir),
        "--steps",
        str(steps),
        "--no-progress",
        "--threads",
        "1",
        *extra,
    ]


def _validation_losses(run_dir, name="val_loss"):
    record = json.loads((run_dir / "record.json").read_text())
    rows = [line.split(",") for line in (run_dir / "history.csv").read_text().splitlines()]
    column = rows[0].index(name)
    first = float(rows[1][column])
    return first, record["final_validation"][name], record


def test_tiny_encoder_learns_roles(tmp_path, tiny):
    run = tmp_path / "enc"
    train_main(
        [
            "encoder",
            *_common(
                run,
                25,
                [
                    "--embedding-dim",
                    "8",
                    "--channels",
                    "4,8",
                    "--batch-size",
                    "8",
                    "--segment-seconds",
                    "0.5",
                    "--val-every",
                    "25",
                    "--lr",
                    "3e-3",
                    "--val-items",
                    "32",
                ],
            ),
        ]
    )
    first, last, record = _validation_losses(run)
    assert last < first
    assert (
        record["final_validation"]["val_accuracy"] > 0.16
    )  # chance among the 8 synthetic roles is 0.125
    assert (run / "history.png").stat().st_size > 1000


def test_tiny_tcn_learns_to_emulate_the_chain(tmp_path, tiny):
    run = tmp_path / "tcn"
    train_main(
        [
            "transform",
            *_common(
                run,
                30,
                [
                    "--channels",
                    "8",
                    "--num-blocks",
                    "4",
                    "--kernel-size",
                    "3",
                    "--batch-size",
                    "4",
                    "--segment-seconds",
                    "0.25",
                    "--val-every",
                    "30",
                    "--val-items",
                    "8",
                    "--lr",
                    "3e-4",
                ],
            ),
        ]
    )
    first, last, record = _validation_losses(run)
    assert last < first
    validation = record["final_validation"]
    assert {"val_mrstft", "val_input_mrstft"} <= set(
        validation
    )  # emulation error beside the do-nothing baseline
    assert load_model(run / "final.pt").receptive_field == 1 + 2 * (1 + 2 + 4 + 8)


def _drums_console(tmp_path, tiny, run, steps, extra=()):
    encoder, _ = tiny.checkpoints()
    return train_main(
        [
            "console",
            "--task",
            "drums",
            "--encoder",
            str(encoder),
            *_common(
                run,
                steps,
                [
                    "--batch-size",
                    "4",
                    "--segment-seconds",
                    "0.5",
                    "--val-items",
                    "4",
                    "--lr",
                    "3e-3",
                    "--hidden-dim",
                    "32",
                    *extra,
                ],
            ),
        ]
    )


def test_tiny_drums_console_learns_and_logs_reference_lines(tmp_path, tiny):
    run = tmp_path / "drums"
    _drums_console(
        tmp_path, tiny, run, 15, ["--val-every", "15", "--export", str(tmp_path / "ship" / "c.pt")]
    )
    first, last, record = _validation_losses(run)
    assert last < first
    assert set(record["references"]) == {"mono mix", "random parameters"}
    shipped = json.loads((tmp_path / "ship" / "c.json").read_text())
    assert shipped["command"].startswith("python -m dmc.train console --task drums")
    assert load_model(tmp_path / "ship" / "c.pt").task == "drums"


def test_resumed_run_continues_exactly_like_an_uninterrupted_one(tmp_path, tiny):
    _drums_console(
        tmp_path, tiny, tmp_path / "straight", 6, ["--val-every", "3", "--save-every", "3"]
    )
    _drums_console(
        tmp_path, tiny, tmp_path / "resumed", 3, ["--val-every", "3", "--save-every", "3"]
    )
    _drums_console(
        tmp_path, tiny, tmp_path / "resumed", 6, ["--val-every", "3", "--save-every", "3"]
    )
    a = load_model(tmp_path / "straight" / "final.pt").state_dict()
    b = load_model(tmp_path / "resumed" / "final.pt").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    straight = (tmp_path / "straight" / "history.csv").read_text().splitlines()
    resumed = (tmp_path / "resumed" / "history.csv").read_text().splitlines()
    assert len(straight) == len(resumed) == 8  # header, step 0 and six steps


def test_resuming_a_run_dir_with_other_settings_is_refused(tmp_path, tiny, capsys):
    _drums_console(tmp_path, tiny, tmp_path / "run", 1)
    encoder, _ = tiny.checkpoints()
    code = train_main(
        [
            "console",
            "--task",
            "drums",
            "--encoder",
            str(encoder),
            *_common(tmp_path / "run", 2, ["--hidden-dim", "64", "--segment-seconds", "0.5"]),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "--no-resume" in err and "holds a run with other settings (model" in err


def test_init_fine_tunes_a_trained_console_with_the_stereo_term(tmp_path, tiny, capsys):
    _drums_console(
        tmp_path, tiny, tmp_path / "a", 4, ["--val-every", "4", "--export", str(tmp_path / "a.pt")]
    )
    _, trained_val, _ = _validation_losses(tmp_path / "a", "val_sum_difference")
    _drums_console(
        tmp_path,
        tiny,
        tmp_path / "b",
        2,
        ["--val-every", "2", "--init", str(tmp_path / "a.pt"), "--w-stereo", "1"],
    )
    start, _, record = _validation_losses(tmp_path / "b", "val_sum_difference")
    # step 0 is the trained console (judged on the paper's term; the objective adds the stereo term)
    assert start == pytest.approx(trained_val, rel=1e-5)
    assert record["config"]["w_stereo"] == 1.0
    assert "val_stereo" in record["final_validation"]
    encoder, tcn = tiny.checkpoints()
    code = train_main(
        [
            "console",
            "--task",
            "full",
            "--encoder",
            str(encoder),
            "--tcn",
            str(tcn),
            "--init",
            str(tmp_path / "a.pt"),
            *_common(tmp_path / "c", 1, ["--segment-seconds", "0.5"]),
        ]
    )
    assert code == 2 and "not a full console" in capsys.readouterr().err


def test_segments_carry_the_targets_pans_padded_like_the_tracks():
    songs = stage_songs(synthetic_songs("drums", "train", count=2), progress=False)
    data = ConsoleSegments(songs, 22050, reference_pans=True, progress=False)
    for song, estimate in zip(data.songs, data.pans):
        expected = [CONVENTION[role][1] for role in song.roles]  # drawn within +-0.05
        assert estimate.pans == pytest.approx(expected, abs=0.06)
    items = [data[i] for i in range(8)]
    counts = {item["tracks"].shape[0] for item in items}
    assert counts == {4, 5}  # the two songs differ in track count
    batch = collate_tracks(items)
    padded = ~batch["mask"]
    assert batch["reference_pan"].shape == batch["kit"].shape == batch["mask"].shape
    assert not batch["kit"][~batch["mask"]].any()  # padding is no kit
    assert bool((batch["pan_share"][padded] == 0).all())
    assert bool((batch["reference_pan"][padded] == 0.5).all())
    assert "reference_pan" not in ConsoleSegments(songs, 22050)[0]  # only when asked


def test_side_hints_come_from_the_names_and_drop_out_whole_items():
    from dmc.multitrack import Song, Track

    rng = np.random.default_rng(0)
    audio = rng.standard_normal((3, 44100)).astype(np.float32) * 0.05
    names = ["overhead_L", "overhead_R", "kick"]
    song = Song(
        "pair",
        [
            Track(n, r, audio=a[None])
            for n, r, a in zip(names, ["overhead", "overhead", "kick"], audio)
        ],
        44100,
        44100,
        target=Track("mix", "other", audio=audio[:2] * 0.5),
    )
    songs = stage_songs([song], progress=False)
    kept = ConsoleSegments(songs, 11025)
    dropped = ConsoleSegments(songs, 11025, side_dropout=0.5)
    sides = [dropped[i]["side"].tolist() for i in range(200)]
    assert kept[0]["side"].tolist() == [-1.0, 1.0, 0.0]
    assert set(map(tuple, sides)) == {(-1.0, 1.0, 0.0), (0.0, 0.0, 0.0)}
    assert 70 < sum(s == [0.0, 0.0, 0.0] for s in sides) < 130
    assert torch.equal(kept[7]["tracks"], dropped[7]["tracks"])  # the same segments
    with pytest.raises(ValueError, match="side_dropout"):
        ConsoleSegments(songs, 11025, side_dropout=1.5)


def _kit_and_bass(drum_pan: float, seconds: float = 3.0):
    """Four drum mics (one already a bus-like "drums" loop) and a bass, mixed with all
    drums at ``drum_pan`` and the bass centred; tracks are kept unstaged (gains 0 dB)."""
    from dmc.multitrack import Song, Track

    sr = 22050
    rng = np.random.default_rng(3)
    audio = rng.standard_normal((6, int(seconds * sr))).astype(np.float32) * 0.05
    names = ["kick", "snare", "overhead_L", "overhead_R", "bass", "drum loop"]
    roles = ["kick", "snare", "overhead", "overhead", "bass", "drums"]
    theta = drum_pan * np.pi / 2
    drums = audio[[0, 1, 2, 3, 5]].sum(axis=0)
    mix = np.stack(
        [
            np.cos(theta) * drums + np.sqrt(0.5) * audio[4],
            np.sin(theta) * drums + np.sqrt(0.5) * audio[4],
        ]
    )
    song = Song(
        "kit",
        [Track(n, r, audio=a[None]) for n, r, a in zip(names, roles, audio)],
        sr,
        audio.shape[1],
        target=Track("mix", "other", audio=mix),
        metadata={"staging_gain_db": [0.0] * 6},
    )
    return stage_songs([song], progress=False)[0]


def test_drum_bus_sums_the_mics_stages_the_sum_and_centres_them_in_the_target():
    from dmc.audio import integrated_loudness
    from dmc.stereo_image import estimate_pans

    song = _kit_and_bass(drum_pan=0.3)
    view = drum_bus_view(song)
    assert view.microphones.tolist() == [0, 1, 2, 3]  # the "drums" track is a bus already
    assert view.others.tolist() == [4, 5]
    tracks, target = song.tracks(), song.target()
    bused = view.tracks(tracks)
    assert bused.shape == (3, tracks.shape[1])
    assert np.array_equal(bused[:2], tracks[[4, 5]])
    assert integrated_loudness(bused[2][None], song.sample_rate) == pytest.approx(-30.0, abs=0.1)
    # the target keeps its mid and loses the microphones' side: the kit moves to the centre,
    # the loop (not summed) stays at 0.3
    centred = view.target(tracks, target)
    assert np.allclose(centred.sum(axis=0), target.sum(axis=0), atol=1e-5)
    assert estimate_pans(tracks, target, song.sample_rate).pans.tolist() == pytest.approx(
        [0.3] * 4 + [0.5, 0.3], abs=0.02
    )
    assert estimate_pans(tracks, centred, song.sample_rate).pans.tolist() == pytest.approx(
        [0.5] * 5 + [0.3], abs=0.02
    )
    # on an excerpt too
    part = slice(5000, 5000 + 11025)
    excerpt = view.target(tracks[:, part], target[:, part])
    assert np.abs(excerpt - centred[:, part])[:, 2048:-2048].max() < 0.02 * np.abs(target).max()
    # the reference: the bus in the middle with the microphones' share of the energy
    song_pans = view.fit.pans()
    reference = view.reference(song_pans)
    assert reference.pans.tolist() == pytest.approx([0.5, 0.3, 0.5], abs=0.02)
    assert reference.shares[2] == pytest.approx(song_pans.shares[:4].sum())
    # one drum microphone is no kit to sum
    assert drum_bus_view(stage_songs([_bass_and_one_mic()], progress=False)[0]) is None


def _bass_and_one_mic():
    from dmc.multitrack import Song, Track

    audio = np.random.default_rng(0).standard_normal((2, 22050)).astype(np.float32) * 0.05
    tracks = [Track("kick", "kick", audio=audio[:1]), Track("bass", "bass", audio=audio[1:])]
    return Song("one mic", tracks, 22050, 22050, target=Track("mix", "other", audio=audio))


def test_segments_show_the_drum_bus_on_the_same_segment_with_probability_drum_bus():
    song = _kit_and_bass(drum_pan=0.3)
    plain = ConsoleSegments([song], 11025, reference_pans=True, progress=False)
    mixed = ConsoleSegments([song], 11025, reference_pans=True, progress=False, drum_bus=0.5)
    counts = []
    for i in range(100):
        item, whole = mixed[i], plain[i]
        counts.append(item["tracks"].shape[0])
        if item["tracks"].shape[0] == 3:
            bus, tracks = mixed.buses[0], whole["tracks"].numpy()
            assert torch.allclose(item["tracks"], torch.from_numpy(bus.tracks(tracks)))
            expected = bus.target(tracks, whole["target"].numpy())
            assert torch.allclose(item["target"], torch.from_numpy(expected))
            assert item["side"].tolist() == [0.0, 0.0, 0.0]
            assert item["reference_pan"].tolist() == pytest.approx([0.5, 0.3, 0.5], abs=0.02)
            assert item["kit"].tolist() == [0.0, 1.0, 1.0]  # bass, drum loop, the bus
        else:
            assert torch.equal(item["tracks"], whole["tracks"])
            assert torch.equal(item["target"], whole["target"])
            assert item["side"].tolist() == [0.0, 0.0, -1.0, 1.0, 0.0, 0.0]
            assert item["kit"].tolist() == [1.0, 1.0, 1.0, 1.0, 0.0, 1.0]
    assert set(counts) == {3, 6} and 35 < counts.count(3) < 65
    batch = collate_tracks([mixed[i] for i in range(8)])
    assert batch["reference_pan"].shape == batch["kit"].shape == batch["mask"].shape
    assert not batch["kit"][~batch["mask"]].any()  # padding is no kit
    with pytest.raises(ValueError, match="drum_bus"):
        ConsoleSegments([song], 11025, drum_bus=-0.1)


def test_follow_envelope_rides_the_drums_between_the_floor_and_one():
    rng = np.random.default_rng(0)
    hits = np.repeat(rng.random(40) < 0.5, 2048)  # a kit that comes and goes
    drums = hits * rng.standard_normal(hits.size).astype(np.float32)
    gain = follow_envelope(drums, floor=0.25)
    assert gain.shape == drums.shape and gain.dtype == np.float32
    assert gain.min() >= 0.25 - 1e-6 and gain.max() == pytest.approx(1.0, abs=0.05)
    frames = gain[: hits.size].reshape(40, 2048).mean(axis=1)
    assert frames[hits[::2048]].mean() > frames[~hits[::2048]].mean() + 0.4


def _gated_kit_and_band(seconds: float = 3.0):
    """A kick and an overhead that play in bursts, a steady bass and keys; a panned sum."""
    from dmc.multitrack import Song, Track

    sr = 22050
    rng = np.random.default_rng(4)
    samples = int(seconds * sr)
    audio = rng.standard_normal((4, samples)).astype(np.float32) * 0.05
    audio[:2] *= np.repeat(rng.random(samples // 1024 + 1) < 0.5, 1024)[:samples]
    names, roles = ["kick", "overhead", "bass", "keys"], ["kick", "overhead", "bass", "keys"]
    pans = np.array([0.5, 0.3, 0.5, 0.75])
    mix = np.stack([np.cos(pans * np.pi / 2) @ audio, np.sin(pans * np.pi / 2) @ audio])
    tracks = [Track(n, r, audio=a[None]) for n, r, a in zip(names, roles, audio)]
    song = Song(
        "gated",
        tracks,
        sr,
        samples,
        target=Track("mix", "other", audio=mix),
        metadata={"staging_gain_db": [0.0] * 4},  # kept as they are
    )
    return stage_songs([song], progress=False)[0]


def test_segments_with_follow_drums_change_one_part_and_the_target_with_it():
    from dmc.console import envelope_correlation

    song = _gated_kit_and_band()
    plain = ConsoleSegments([song], 22050, reference_pans=True, progress=False)
    follow = ConsoleSegments([song], 22050, reference_pans=True, progress=False, follow_drums=1.0)
    for i in range(4):
        item, whole = follow[i], plain[i]
        assert item["kit"].tolist() == [1.0, 1.0, 0.0, 0.0]
        assert torch.equal(item["tracks"][:2], whole["tracks"][:2])  # the kit is untouched
        changed = [k for k in (2, 3) if not torch.equal(item["tracks"][k], whole["tracks"][k])]
        assert len(changed) == 1  # one part follows
        part = changed[0]
        ratio = item["tracks"][part] / whole["tracks"][part]
        assert float(ratio.min()) >= 0.1 - 1e-5 and float(ratio.max()) <= 1.0 + 1e-5
        change = np.zeros_like(whole["tracks"].numpy())
        change[part] = (item["tracks"][part] - whole["tracks"][part]).numpy()
        expected = whole["target"].numpy() + follow.fits[0].contribution(change, [part])
        assert torch.allclose(item["target"], torch.from_numpy(expected), atol=1e-6)
        pair = torch.stack([item["tracks"][:2].sum(dim=0), item["tracks"][part]])[None]
        assert float(envelope_correlation(pair)[0, 0, 1]) > 0.5  # steady part, now with the kit
    with pytest.raises(ValueError, match="follow_drums"):
        ConsoleSegments([song], 22050, follow_drums=1.5)


def test_w_pan_adds_the_reference_pan_term_to_training_and_validation(tmp_path, tiny):
    run = tmp_path / "pan"
    _drums_console(tmp_path, tiny, run, 2, ["--val-every", "2", "--w-pan", "3"])
    record = json.loads((run / "record.json").read_text())
    assert record["config"]["w_pan"] == 3.0
    final = record["final_validation"]
    assert final["val_pan"] > 0
    assert final["val_loss"] == pytest.approx(final["val_sum_difference"] + 3 * final["val_pan"])
    # the training loss is the objective plus the weighted term of the console's own pans
    songs = stage_songs(synthetic_songs("drums", "train", count=2), progress=False)
    console = tiny.console("drums").eval()
    recipe = ConsoleRecipe(console, songs, songs, 22050, 2, val_items=2, w_pan=3.0, progress=False)
    batch = recipe.batch(0, 0, 1)
    with torch.no_grad():
        mix, params = console(batch["tracks"], batch["mask"])
        expected = float(recipe.objective(mix, batch["target"])) + 3 * float(
            ReferencePanLoss()(params[..., 1], batch["reference_pan"], batch["pan_share"])
        )
        assert float(recipe.loss(console, batch)[0]) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="w_pan"):
        ConsoleRecipe(console, songs, songs, 22050, 2, w_pan=-1.0, progress=False)
    with pytest.raises(ValueError, match="free_kit_view"):
        ConsoleRecipe(console, songs, songs, 22050, 2, free_kit_view=True, progress=False)
    free = ConsoleRecipe(
        console, songs, songs, 22050, 2, val_items=2, w_pan=3.0, free_kit_view=True, progress=False
    )
    with torch.no_grad():
        mix, params = console(batch["tracks"], batch["mask"])
        expected = float(free.objective(mix, batch["target"])) + 3 * float(
            ReferencePanLoss()(
                params[..., 1], batch["reference_pan"], batch["pan_share"], batch["kit"]
            )
        )
        assert float(free.loss(console, batch)[0]) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--w-pan", "-1"], "--w-pan must be 0 or more"),
        (["--w-balance", "-0.5"], "--w-balance must be 0 or more"),
        (["--side-dropout", "2"], "--side-dropout must be between 0 and 1"),
        (["--drum-bus", "1.5"], "--drum-bus must be between 0 and 1"),
        (["--free-kit-view"], "--free-kit-view changes the pan term"),
        (["--follow-drums", "-0.2"], "--follow-drums must be between 0 and 1"),
    ],
)
def test_bad_weights_are_one_line_errors(tmp_path, tiny, capsys, option, message):
    assert _drums_console(tmp_path, tiny, tmp_path / "run", 1, option) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_init_keeps_the_checkpoint_architecture_unless_told_otherwise(tmp_path, tiny, capsys):
    """A console trained with other architecture options fine-tunes without repeating them."""
    _drums_console(
        tmp_path,
        tiny,
        tmp_path / "a",
        1,
        [
            "--context",
            "mean+related",
            "--hidden-dim",
            "32",
            "--val-every",
            "1",
            "--export",
            str(tmp_path / "a.pt"),
        ],
    )
    assert (
        _drums_console(tmp_path, tiny, tmp_path / "b", 1, ["--init", str(tmp_path / "a.pt")]) == 0
    )
    fine_tuned = load_model(tmp_path / "b" / "best.pt")
    assert fine_tuned.context == "mean+related"
    assert fine_tuned.postprocessor.net[0].weight.shape[0] == 32
    # an explicit option that contradicts the checkpoint is a one-line error, exit 2
    code = _drums_console(
        tmp_path, tiny, tmp_path / "c", 1, ["--init", str(tmp_path / "a.pt"), "--context", "mean"]
    )
    assert code == 2 and "weights do not fit this console" in capsys.readouterr().err


def test_side_hints_widen_a_trained_console_that_then_starts_where_it_was(tmp_path, tiny):
    _drums_console(
        tmp_path, tiny, tmp_path / "a", 2, ["--val-every", "2", "--export", str(tmp_path / "a.pt")]
    )
    _, trained_val, _ = _validation_losses(tmp_path / "a")
    extra = ["--val-every", "1", "--init", str(tmp_path / "a.pt"), "--side-hints"]
    assert _drums_console(tmp_path, tiny, tmp_path / "b", 1, extra) == 0
    start, _, record = _validation_losses(tmp_path / "b")
    assert start == pytest.approx(trained_val, rel=1e-5)  # the hint's weights start at zero
    assert record["config"]["model"]["side_hints"] is True
    widened = load_model(tmp_path / "b" / "final.pt")
    assert widened.side_hints
    # synthetic track names say no side, so the new input's weights never moved from zero
    assert float(widened.postprocessor.net[0].weight.detach()[:, -1].abs().max()) == 0.0


def test_a_dsp_console_widened_from_a_gain_pan_console_starts_where_it_was(tmp_path, tiny):
    """--effects dsp with --init of a drums (gain, pan) console: the shared settings keep
    their trained outputs exactly, the effects start neutral (to 1e-4 of their ranges), so
    the widened console scores as the trained one; then the exact effects train (gradients
    reach every setting) and the record says dsp."""
    _drums_console(
        tmp_path, tiny, tmp_path / "a", 2, ["--val-every", "2", "--export", str(tmp_path / "a.pt")]
    )
    _, trained_val, _ = _validation_losses(tmp_path / "a", "val_sum_difference")
    original = load_model(tmp_path / "a.pt")
    widened = DifferentiableMixingConsole(**{**original.init_kwargs, "effects": "dsp"}).eval()
    _load_weights(widened, original, tmp_path / "a.pt", keep_tcn=True)
    assert original.space.names == ("gain_db", "pan")
    assert widened.space.names == CHANNEL_STRIP.names and widened.tcn is None
    embeddings = torch.randn(
        2, 5, original.encoder.output_dim, generator=torch.Generator().manual_seed(0)
    )
    with torch.no_grad():
        before = original.predict(embeddings)
        after = widened.space.denormalize(widened.predict(embeddings))
    shared = [CHANNEL_STRIP.index(n) for n in ("gain_db", "pan")]
    torch.testing.assert_close(
        after[..., shared], original.space.denormalize(before), rtol=0, atol=1e-5
    )
    for name in ("reverb_wet", "comp_makeup_db", "eq_band2_gain_db"):
        parameter = CHANNEL_STRIP[name]
        span = parameter.maximum - parameter.minimum
        offset = (after[..., CHANNEL_STRIP.index(name)] - parameter.default).abs().max()
        assert float(offset) <= 2e-4 * span, name
    extra = ["--val-every", "2", "--init", str(tmp_path / "a.pt"), "--effects", "dsp"]
    assert _drums_console(tmp_path, tiny, tmp_path / "c", 2, extra) == 0
    start, _, record = _validation_losses(tmp_path / "c", "val_sum_difference")
    assert start == pytest.approx(trained_val, rel=1e-3)
    assert record["config"]["model"]["effects"] == "dsp"
    trained = load_model(tmp_path / "c" / "final.pt")
    effects = [CHANNEL_STRIP.index(n) for n in TCN_PARAMETERS.names]
    moved = trained.postprocessor.net[-1].bias - widened.postprocessor.net[-1].bias
    assert float(moved.detach()[effects].abs().max()) > 0  # the effects' outputs learnt


def test_full_console_sends_gradients_through_the_frozen_tcn(tiny):
    console = tiny.console("full", random_weights=False)
    tracks = torch.from_numpy(tiny.tracks(3, seconds=0.2))[None]
    console.train()
    mix, _ = console(tracks)
    StereoSumDifferenceLoss()(mix, torch.roll(mix.detach(), 1, dims=1) * 0.5).backward()
    assert console.postprocessor.net[0].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in console.tcn.parameters())


def test_unknown_subcommand_and_help(capsys):
    assert set(SUBCOMMANDS) >= {"transform", "encoder", "console"}
    assert train_main(["painting"]) == 2
    assert "unknown training subcommand 'painting'" in capsys.readouterr().err


@pytest.mark.slow
def test_two_cpu_processes_stay_in_sync_under_torchrun(tmp_path, tiny):
    encoder, _ = tiny.checkpoints()
    run = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "dmc.train",
        "console",
        "--task",
        "drums",
        "--encoder",
        str(encoder),
        *_common(
            run,
            3,
            [
                "--threads",
                "1",
                "--batch-size",
                "2",
                "--segment-seconds",
                "0.5",
                "--val-items",
                "2",
                "--val-every",
                "3",
                "--hidden-dim",
                "32",
                "--device",
                "cpu",
            ],
        ),
    ]
    result = subprocess.run(
        command, check=False, capture_output=True, text=True, timeout=240, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((run / "record.json").read_text())
    assert record["world_size"] == 2 and record["steps"] == 3
    checksums = record["rank_checksums"]
    assert len(checksums) == 2 and checksums[0] == checksums[1]
    assert load_model(run / "final.pt").task == "drums"


def test_evaluate_compares_console_mono_and_random_per_song(tmp_path, tiny, capsys):
    checkpoint = save_model(tmp_path / "c.pt", tiny.console("drums"))
    rows = evaluate_main(
        [
            "--task",
            "drums",
            "--data",
            "synthetic",
            "--split",
            "test",
            "--num-songs",
            "2",
            "--checkpoint",
            str(checkpoint),
            "--csv",
            str(tmp_path / "e.csv"),
        ]
    )
    assert {(r["song_id"], r["method"]) for r in rows} == {
        (s, m)
        for s in ("synthetic-drums-2000", "synthetic-drums-2001")
        for m in ("console", "mono", "random")
    }
    assert all(r["sum_difference_mrstft"] > 0 for r in rows)
    # the synthetic engineer pans the hi-hat right and the tom left: the centred mono mix
    # misses each by about 0.2, so its mean track pan error is well above 0, never one-sided
    mono = [r for r in rows if r["method"] == "mono"]
    assert all(0.05 < r["track_pan_error"] < 0.2 and not r["one_sided"] for r in mono)
    out = capsys.readouterr().out
    assert "track pan err" in out and "one-sided songs" in out
    assert "| drums | 2 |" in out and (tmp_path / "e.csv").read_text().count("\n") == 7
    # the spread of the console's settings: one row per drums parameter, over every track
    spread = [line for line in out.splitlines() if line.startswith("| gain_db |")]
    assert len(spread) == 1
    tracks = sum(len(s.tracks) for s in synthetic_songs("drums", "test", count=2))
    assert f"(drums, {tracks} tracks)" in out
    assert "| pan | 0.5 |" in out


def test_evaluate_without_names_gives_a_side_hint_console_no_hints(tmp_path, tiny, monkeypatch):
    import dmc.mixers.console
    from dmc.console import DifferentiableMixingConsole

    torch.manual_seed(0)
    console = DifferentiableMixingConsole(
        "drums", encoder=tiny.ENCODER, hidden_dim=16, side_hints=True
    )
    with torch.no_grad():
        console.postprocessor.net[0].weight[:, -1] = 5.0  # the hint moves every parameter
    checkpoint = save_model(tmp_path / "c.pt", console)
    # the synthetic songs' names say no side; let the hi-hat's say "right"
    monkeypatch.setattr(
        dmc.mixers.console, "side_from_name", lambda name: float(name.startswith("hihat"))
    )

    def hihat_pans(extra):
        args = ["--task", "drums", "--data", "synthetic", "--split", "test", "--num-songs", "1"]
        rows = evaluate_main(
            [*args, "--checkpoint", str(checkpoint), "--csv", str(tmp_path / "e.csv"), *extra]
        )
        return [r["track_pan_error"] for r in rows if r["method"] == "console"]

    assert hihat_pans([]) != hihat_pans(["--no-names"])


def test_evaluate_reports_emulation_error_per_effect_group(tiny, capsys):
    _, tcn = tiny.checkpoints()
    evaluate_main(["--tcn", str(tcn), "--data", "synthetic", "--num-songs", "1", "--items", "2"])
    rows = [
        line
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("| ") and "---" not in line
    ]
    assert [row.split("|")[1].strip() for row in rows[1:]] == [
        "eq",
        "compressor",
        "reverb",
        "all three",
        "none (neutral settings)",
    ]
    # an untrained TCN is the identity: it equals the untouched input exactly
    assert all(row.split("|")[3].strip() == row.split("|")[4].strip() for row in rows[1:])


def test_effect_triples_from_the_exact_strip_equal_the_real_chains():
    """--targets dsp: the same inputs and settings, targets within -50 dB of pedalboard's."""
    from dmc.train.data import EffectTriples

    songs = stage_songs(synthetic_songs("full", "train", count=2), progress=False)
    chain = EffectTriples(songs, 22050, seed=3).batch(range(6))
    exact = EffectTriples(songs, 22050, seed=3, targets="dsp").batch(range(6))
    assert torch.equal(chain["input"], exact["input"])
    assert torch.equal(chain["params"], exact["params"])
    for ours, theirs in zip(exact["target"], chain["target"]):
        assert difference_db(ours, theirs) < -50
    single = EffectTriples(songs, 22050, seed=3, targets="dsp")[4]
    torch.testing.assert_close(single["target"], exact["target"][4], rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="unknown targets"):
        EffectTriples(songs, 22050, targets="tcn")


def test_threshold_start_puts_every_compressor_where_it_can_learn(tmp_path, tiny, capsys):
    """--threshold-start-db: every track's threshold starts there (a hard knee above the
    signal has no gradient); a console without a compressor is a one-line error."""
    from dmc.train.console import start_threshold

    console = tiny.console("full", effects="dsp")
    start_threshold(console, -24.0)
    embeddings = torch.randn(
        2, 3, console.encoder.output_dim, generator=torch.Generator().manual_seed(1)
    )
    with torch.no_grad():
        params = console.space.denormalize(console.predict(embeddings))
    threshold = params[..., console.space.names.index("comp_threshold_db")]
    torch.testing.assert_close(threshold, torch.full_like(threshold, -24.0), rtol=0, atol=1e-4)
    # then the compressor engages on the tiny tracks' peaks, so its settings get gradients
    console.train()
    tracks = torch.from_numpy(tiny.tracks(3, seconds=0.3, level=0.5))[None]
    mix, _ = console(tracks)
    StereoSumDifferenceLoss()(mix, torch.roll(mix.detach(), 1, dims=-1)).backward()
    rows = [console.space.names.index(n) for n in ("comp_threshold_db", "comp_ratio")]
    assert float(console.postprocessor.net[-1].bias.grad[rows].abs().min()) > 0
    code = _drums_console(tmp_path, tiny, tmp_path / "d", 1, ["--threshold-start-db", "-24"])
    assert code == 2 and "this console sets no compressor" in capsys.readouterr().err
