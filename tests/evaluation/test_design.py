"""Test designs: config parsing, validation against a manifest, seeded per-rater plans."""

from __future__ import annotations

import hashlib
import re
import shlex
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dmc.audio import encode_mp3, write_audio
from dmc.contracts.conditions import ANCHORS
from dmc.contracts.manifest import Condition, Manifest, PassageEntry, load_manifest
from dmc.contracts.scale import DEFAULT_SCALE
from dmc.render import cli as render_cli
from dmc.render import planning
from evaluation.design import LABELS, build_design, load_design, plan_for_rater
from evaluation.design.__main__ import main
from evaluation.design.config import DEFAULT_TEXTS, DesignError, load_config, parse_config

CONFIGS = Path(__file__).resolve().parents[2] / "evaluation" / "configs"
ALL = ("target", "console", "demucs", "random", "mono", "anchor_7k", "anchor_3k5")


def _write_manifest(
    folder: Path,
    passages: dict[str, int],
    methods=ALL,
    seconds: float = 0.3,
    settings: dict | None = None,
) -> Path:
    """A manifest with real (short) MP3s whose names say nothing about the method."""
    rng = np.random.default_rng(0)
    tasks = {}
    for task, count in passages.items():
        entries = []
        for i in range(count):
            conditions = []
            for method in methods if task == "drums" else [m for m in methods if m != "demucs"]:
                audio = (0.1 * rng.standard_normal((2, int(seconds * 44100)))).astype(np.float32)
                name = (
                    "audio/"
                    + hashlib.sha256(f"{task}{i}{method}".encode()).hexdigest()[:12]
                    + ".mp3"
                )
                encode_mp3(folder / name, audio, 44100)
                digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
                conditions.append(Condition(method, name, digest, -23.0, -3.0, seconds))
            entries.append(PassageEntry(f"song{i}@0000.00s", f"song{i}", 0.0, seconds, conditions))
        tasks[task] = entries
    return Manifest(tasks, "2026-01-01T00:00:00Z", "0.1.0", 44100, settings=settings or {}).save(
        folder / "manifest.json"
    )


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    return load_manifest(
        _write_manifest(tmp_path_factory.mktemp("render"), {"drums": 4, "full": 3})
    )


def test_default_design_has_one_trial_per_passage_and_hidden_reference(manifest):
    design = build_design(manifest, load_config(None))
    assert [t.trial_id for t in design.trials][:2] == [
        "drums:song0@0000.00s",
        "drums:song1@0000.00s",
    ]
    assert len(design.trials) == 7 and len(design.training) == 1
    drums, full = design.trial("drums:song0@0000.00s"), design.trial("full:song0@0000.00s")
    assert drums.methods == ("target", "console", "demucs", "random", "mono")
    assert full.methods == ("target", "console", "random", "mono")
    assert drums.reference_method is None and drums.is_training is False
    assert design.training[0].trial_id == "training:drums:song0@0000.00s"


@pytest.mark.parametrize(
    ("reference", "anchors", "rated", "open_reference"),
    [
        ("hidden", False, ("target", "console", "mono"), None),
        ("open", False, ("console", "mono"), "target"),
        ("both", True, ("target", "console", "mono", "anchor_7k", "anchor_3k5"), "target"),
        ("none", ["anchor_7k"], ("console", "mono", "anchor_7k"), None),
    ],
)
def test_reference_modes_and_anchors(manifest, reference, anchors, rated, open_reference):
    config = parse_config(
        {"conditions": ["console", "mono"], "reference": reference, "anchors": anchors}
    )
    trial = build_design(manifest, config).trials[0]
    assert trial.methods == rated
    assert trial.reference_method == open_reference
    assert set(trial.files) == set(rated) | ({open_reference} if open_reference else set())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reference": "visible"}, "reference must be one of"),
        ({"anchors": ["anchor_1k"]}, "unknown anchor"),
        ({"refrence": "open"}, r"unknown key\(s\) \['refrence'\]"),
        ({"checks": {"play_all": True}}, r"unknown key\(s\) \['play_all'\] in 'checks'"),
        ({"checks": {"one_at_top": "yes"}}, "'checks.one_at_top' must be true or false"),
        ({"trials_per_rater": 0}, "trials_per_rater must be a whole number >= 1"),
        ({"training": {"trials": -1}}, "training.trials"),
        ({"completion": {"return_url": "javascript:alert(1)"}}, "return_url must be an http"),
        ({"texts": {"welcom": "hi"}}, r"unknown key\(s\) \['welcom'\] in 'texts'"),
    ],
)
def test_config_errors_name_the_bad_value(data, message):
    with pytest.raises(DesignError, match=message):
        parse_config(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"tasks": ["vocals"]}, "names task 'vocals'"),
        ({"conditions": ["console", "consol"]}, "unknown condition 'consol'.*console, demucs"),
        ({"tasks": ["full"], "conditions": ["demucs"]}, "unknown condition 'demucs'"),
        ({"conditions": {"drums": ["console"]}}, "not task 'full'"),
        ({"passages": {"drums": ["nope"]}}, "passage 'nope'"),
        ({"trials_per_rater": 99}, "only 7 trials"),
        ({"training": {"trials": 50}}, "more than the test's passages"),
        ({"training": {"passages": ["drums"]}}, "'<task>:<passage_id>'"),
        ({"training": {"passages": ["drums:missing"]}}, "missing"),
        ({"conditions": ["console"], "reference": "none"}, "needs at least 2"),
    ],
)
def test_design_errors_against_the_manifest(manifest, data, message):
    with pytest.raises(DesignError, match=message):
        build_design(manifest, parse_config(data))


def test_more_than_twelve_signals_is_refused(tmp_path):
    # A manifest may carry methods beyond the standard ones (variants of the console).
    path = _write_manifest(tmp_path, {"drums": 1}, methods=("target", "console"))
    m = load_manifest(path)
    base = m.tasks["drums"][0].conditions[1]
    extra = [
        Condition(f"console_v{i}", base.file, base.sha256, -23.0, -3.0, 0.3) for i in range(10)
    ]
    m.tasks["drums"][0].conditions += extra
    assert len(build_design(m, parse_config({})).trials[0].methods) == 12
    assert build_design(m, parse_config({})).trials[0].methods[-1] == "console_v9"
    m.tasks["drums"][0].conditions.append(
        Condition("console_v10", base.file, base.sha256, -23.0, -3.0, 0.3)
    )
    with pytest.raises(DesignError, match="13 rated signals.*at most 12"):
        build_design(m, parse_config({}))


def test_missing_audio_files_are_named(tmp_path):
    path = _write_manifest(tmp_path, {"drums": 1}, methods=("target", "console", "mono"))
    victim = load_manifest(path).tasks["drums"][0].conditions[1].file
    (tmp_path / victim).unlink()
    with pytest.raises(DesignError, match=f"1 audio file.*{victim}"):
        load_design(path)
    assert len(load_design(path, check_files=False).trials) == 1


def test_example_configs_load_and_yaml_equals_toml(manifest):
    yaml_config = load_config(CONFIGS / "bs1534.yaml")
    assert yaml_config == load_config(CONFIGS / "bs1534.toml")
    assert yaml_config.reference == "both" and yaml_config.trials_per_rater == 6
    design = build_design(manifest, yaml_config)
    assert design.trial("drums:song0@0000.00s").methods[-2:] == ("anchor_7k", "anchor_3k5")
    default = load_config(CONFIGS / "default.yaml")
    assert default.texts["comments"] == DEFAULT_TEXTS["comments"]
    assert default.checks.play_all_before_rating and not default.checks.only_playing_slider_movable
    with pytest.raises(DesignError, match="not found"):
        load_config(CONFIGS / "nope.yaml")


def test_plans_are_seeded_by_rater_and_differ_between_raters(manifest):
    design = build_design(manifest, load_config(None))
    a1, a2, b = (
        plan_for_rater(design, "r00001"),
        plan_for_rater(design, "r00001"),
        plan_for_rater(design, "r00002"),
    )
    assert a1 == a2
    assert a1.to_json() != b.to_json()
    assert a1.trials[0].is_training and not any(t.is_training for t in a1.trials[1:])
    assert sorted(t.trial_id for t in a1.trials[1:]) == sorted(t.trial_id for t in design.trials)
    for planned in a1.trials:
        trial = design.trial(planned.trial_id)
        assert [label for label, _ in planned.labels] == list(LABELS[: len(trial.methods)])
        assert sorted(planned.method_of.values()) == sorted(trial.methods)
    # Over many raters each method lands on letter A about equally often (1/5 each).
    first = Counter(
        next(
            t
            for t in plan_for_rater(design, f"r{i:05d}").trials
            if t.trial_id == "drums:song1@0000.00s"
        ).labels[0][1]
        for i in range(500)
    )
    assert set(first) == {"target", "console", "demucs", "random", "mono"}
    assert max(first.values()) < 0.3 * 500
    positions = Counter(
        [t.trial_id for t in plan_for_rater(design, f"r{i:05d}").trials].index(
            "drums:song1@0000.00s"
        )
        for i in range(500)
    )
    assert len(positions) == 7  # the trial order is shuffled too (position 0 is training)


def test_unrandomised_design_keeps_canonical_order(manifest):
    design = build_design(
        manifest, parse_config({"randomize": {"trial_order": False, "condition_order": False}})
    )
    plan = plan_for_rater(design, "anyone")
    assert [t.trial_id for t in plan.trials[1:]] == [t.trial_id for t in design.trials]
    assert plan.trials[1].labels[0] == ("A", "target")


def test_balanced_subsets_spread_raters_evenly(manifest):
    design = build_design(manifest, parse_config({"trials_per_rater": 3}))
    counts: Counter = Counter()
    for i in range(14):
        plan = plan_for_rater(design, f"r{i:05d}", counts)
        chosen = [t.trial_id for t in plan.trials if not t.is_training]
        assert len(chosen) == len(set(chosen)) == 3
        counts.update(chosen)
    assert sum(counts.values()) == 42
    assert max(counts.values()) - min(counts.values()) <= 1  # 42 over 7 trials: 6 each


def test_cli_lists_trials_and_reports_errors(manifest, tmp_path, capsys):
    assert main(["--manifest", str(manifest.root), "--rater", "r00001"]) == 0
    out = capsys.readouterr().out
    assert "1 training + 7 trials" in out and '"rater_id": "r00001"' in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("conditions: [console, consol]\n")
    assert main(["--manifest", str(manifest.root), "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("python -m evaluation.design: error: ")
        and "unknown condition 'consol'" in err
    )


def test_training_comes_from_passages_the_rater_does_not_rate(manifest):
    design = build_design(
        manifest, parse_config({"trials_per_rater": 4, "training": {"trials": 2}})
    )
    assert design.training_unrated and len(design.training) == 7  # one candidate per passage
    chosen = Counter()
    for i in range(40):
        plan = plan_for_rater(design, f"r{i:05d}")
        passages = [(t.trial_id.split(":")[-2], t.trial_id.split(":")[-1]) for t in plan.trials]
        training = {p for p, t in zip(passages, plan.trials) if t.is_training}
        scored = {p for p, t in zip(passages, plan.trials) if not t.is_training}
        assert len(training) == 2 and len(scored) == 4 and not training & scored
        assert plan == plan_for_rater(design, f"r{i:05d}")  # seeded
        chosen.update(training)
    assert len(chosen) == 7  # every passage serves as training for somebody
    # Without room (every rater rates everything) the first passages are used, as before;
    # asking for it explicitly then is an error that names the fix.
    assert not build_design(manifest, parse_config({"training": {"trials": 1}})).training_unrated
    with pytest.raises(DesignError, match="lower trials_per_rater or set training.unrated"):
        build_design(manifest, parse_config({"training": {"trials": 1, "unrated": True}}))
    fixed = parse_config({"trials_per_rater": 4, "training": {"trials": 2, "unrated": False}})
    assert not build_design(manifest, fixed).training_unrated


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (None, (False, 6, 5)),
        (True, (True, 6, 5)),
        ({"trials": 8, "min_correct": 6}, (True, 8, 6)),
        ({"enabled": False}, (False, 6, 5)),
    ],
)
def test_headphone_check_settings(data, expected):
    check = parse_config({} if data is None else {"headphone_check": data}).headphone_check
    assert (check.enabled, check.trials, check.min_correct) == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"headphone_check": {"trials": 0}}, "headphone_check.trials must be a whole number"),
        ({"headphone_check": {"trials": 4, "min_correct": 5}}, "min_correct .5. is more than"),
        ({"headphone_check": {"loud": True}}, "unknown key"),
        ({"training": {"unrated": "yes"}}, "training.unrated"),
    ],
)
def test_bad_headphone_and_training_settings_are_named(data, message):
    with pytest.raises(DesignError, match=message):
        parse_config(data)


@pytest.mark.parametrize(
    "conditions, fix",
    [
        (["consol", "mono"], "did you mean 'console'? Fix the test config's conditions"),
        (["console", "mono", "my_sytem"], "if it is an outside system, import its mixes with "
         "`python -m dmc.render import --method my_sytem --from DIR --out "),
        (["console", "tcn10"], "tcn10 is a condition of the emulation table"),
    ],
)  # fmt: skip
def test_a_condition_nothing_renders_names_the_fix_in_the_config_not_a_render(
    tmp_path, conditions, fix
):
    """A typo suggests the name it resembles; no render command (it would fail on the typo)."""
    m = load_manifest(_write_manifest(tmp_path, {"drums": 1}, methods=ALL[:5]))
    with pytest.raises(DesignError) as caught:
        build_design(m, parse_config({"conditions": conditions}))
    assert fix in str(caught.value)
    assert "dmc.render testset" not in str(caught.value)


def _folder_render(tmp_path, make_drums) -> Manifest:
    """Two songs as `--data folder` reads them (song0 drums, song1 full) and the manifest a
    render of them records: drums target, console, demucs, mono; full without demucs."""
    root = tmp_path / "songs"
    for song, names in (("song0", ("kick", "snare")), ("song1", ("kick", "bass"))):
        (root / song).mkdir(parents=True)
        for i, name in enumerate((*names, "mix")):
            write_audio(root / song / f"{name}.wav", make_drums(2.0, seed=i), 44100)
    settings = {"data": "folder", "split": "test", "root": str(root), "anchors": False,
                "passages": "1", "seconds": 1.0}  # fmt: skip
    methods = ("target", "console", "demucs", "mono")
    path = _write_manifest(tmp_path / "render", {"drums": 1, "full": 1}, methods, 1.0, settings)
    return load_manifest(path)


@pytest.mark.parametrize(
    "config, added",
    [({"conditions": ["console", "random"]}, {"random"}), ("bs1534.yaml", set(ANCHORS))],
)
def test_a_condition_the_render_lacks_suggests_a_render_command_that_plans(
    tmp_path, make_drums, config, added
):
    """The suggested command renders this render again (same data, passages, length,
    folder, both tasks) with the condition added: parsed by the render's own parser and
    planned (every option, method, song and passage checked), it plans exactly that."""
    manifest = _folder_render(tmp_path, make_drums)
    config = load_config(CONFIGS / config) if isinstance(config, str) else parse_config(config)
    with pytest.raises(DesignError) as caught:
        build_design(manifest, config)
    command = re.search(r"`(python -m dmc\.render testset [^`]*)`", str(caught.value)).group(1)
    argv = shlex.split(command)
    args = render_cli.get_parser().parse_args(argv[3:])
    plans, notes = planning.plan(args)
    planned = {plan.task: {spec.name for spec in plan.methods} for plan in plans}
    assert planned == {
        "drums": {"target", "console", "demucs", "mono"} | added,
        "full": {"target", "console", "mono"} | added,
    }
    assert [len(plan.passages) for plan in plans] == [1, 1] and args.seconds == 1.0
    assert args.out.resolve() == manifest.root.resolve()
    assert "task full: demucs does not mix it (it serves drums)" in notes


def test_the_rating_scale_is_the_configs_and_the_default_is_bs1534_on_0_1(manifest):
    """One source for the scale: the config's ``scale`` key; texts name its ends and bands."""
    default = load_config(None)
    assert default.scale == DEFAULT_SCALE and default.texts == DEFAULT_TEXTS
    assert load_config(CONFIGS / "default.yaml").scale == DEFAULT_SCALE
    assert "1.00 (top of Excellent)" in DEFAULT_TEXTS["reference"]
    assert DEFAULT_TEXTS["scale"].startswith("The scale runs from 0 (bottom of Bad) to 1 (top of")
    mushra = load_config(CONFIGS / "mushra100.yaml")
    assert (mushra.scale.minimum, mushra.scale.maximum, mushra.scale.step) == (0, 100, 1)
    assert mushra.scale.bands == ("Bad", "Poor", "Fair", "Good", "Excellent")
    assert "with 100 (top of Excellent)" in mushra.texts["reference"]
    assert mushra.texts["scale"].startswith("The scale runs from 0 (bottom of Bad) to 100 (top")
    # Everything else is bs1534.yaml, and the design (trials, plans) is the same.
    bs1534 = load_config(CONFIGS / "bs1534.yaml")
    assert replace(mushra, scale=DEFAULT_SCALE, texts=bs1534.texts) == bs1534
    assert build_design(manifest, mushra).design_hash == build_design(manifest, bs1534).design_hash

    five = parse_config({"scale": {"min": 1, "max": 5, "step": 1, "bands": [], "top": 5}})
    assert five.scale.normalise(1) == 0.0 and five.scale.normalise(4) == 0.75
    assert five.scale.format(3) == "3" and five.scale.at_top(5) and not five.scale.at_top(4)
    assert five.texts["trial"].endswith(
        "on the scale from 1 to 5. Rate at least one version at the very top."
    )
    assert parse_config({"scale": {"max": 10}}).scale.step == 0.1  # 100 steps by default
    three = parse_config({"scale": {"bands": ["low", "mid", "high"]}})
    assert "the three bands are a guide" in three.texts["scale"]
    assert DEFAULT_SCALE.normalise(0.37) == 0.37 and DEFAULT_SCALE.at_top(1.0)
    assert not DEFAULT_SCALE.at_top(0.99) and DEFAULT_SCALE.format(1) == "1.00"


@pytest.mark.parametrize(
    ("scale", "message"),
    [
        ({"min": 1, "max": 1}, "scale.max (1) must be above scale.min (1)"),
        ({"max": 100, "step": 3}, "scale.step must divide the range 0-100"),
        ({"step": 0}, "scale.step must divide"),
        ({"top": 0}, "scale.top must lie above scale.min"),
        ({"top": 1.5}, "scale.top must lie above scale.min and at most scale.max"),
        ({"min": "0"}, "scale.min must be a number"),
        ({"bands": "Bad, Good"}, "scale.bands must be a list of labels"),
        ({"bands": ["x"] * 11}, "at most 10 fit"),
        ({"labels": []}, "unknown key(s) ['labels'] in 'scale'"),
    ],
)
def test_a_bad_rating_scale_names_the_key(scale, message):
    with pytest.raises(DesignError, match=re.escape(message)):
        parse_config({"scale": scale}, "my.yaml")
