"""The method registry: names per task, defaults, and one-line refusals before any rendering."""

from __future__ import annotations

import pytest

import dmc.mixers.spec
from dmc.mixers.baselines import MonoMixer, RandomMixer
from dmc.mixers.references import ReferenceCondition
from dmc.mixers.registry import (
    REGISTRY,
    WHEN_AVAILABLE,
    MethodError,
    MethodSpec,
    build_method,
    method_names,
    resolve_methods,
)


def test_each_task_has_the_methods_of_the_paper():
    assert method_names("drums") == [
        "console",
        "console_dsp",
        "mono",
        "random",
        "demucs",
        "target",
        "anchor_3k5",
        "anchor_7k",
    ]
    assert method_names("full") == [
        "console",
        "console_dsp",
        "mono",
        "random",
        "target",
        "anchor_3k5",
        "anchor_7k",
    ]


def test_defaults_leave_anchors_out_unless_asked(registry):
    specs, _ = resolve_methods("full", registry=registry)
    assert [s.name for s in specs] == ["console", "mono", "random", "target"]
    specs, _ = resolve_methods("full", anchors=True, registry=registry)
    assert [s.name for s in specs] == [
        "console",
        "mono",
        "random",
        "target",
        "anchor_3k5",
        "anchor_7k",
    ]
    specs, _ = resolve_methods("drums", ["target", "mono"], anchors=True, registry=registry)
    assert [s.name for s in specs] == ["mono", "target", "anchor_3k5", "anchor_7k"]


def test_a_method_not_available_yet_is_skipped_from_the_defaults_with_a_note_but_refused_by_name(
    registry,
):
    registry["demucs"] = MethodSpec(
        "demucs",
        ("drums",),
        "tracks",
        lambda r: None,
        default=WHEN_AVAILABLE,
        checkpoint=lambda task: "no_such_model.pt",
        hint="make it with `train it`",
    )
    specs, notes = resolve_methods("drums", registry=registry)
    assert "demucs" not in [s.name for s in specs]
    assert len(notes) == 1 and notes[0].startswith("method 'demucs' needs the checkpoint ")
    assert notes[0].endswith(
        "no_such_model.pt, which does not exist (make it with `train it`); leaving it out"
    )
    with pytest.raises(MethodError, match="^method 'demucs' needs the checkpoint"):
        resolve_methods("drums", ["demucs"], registry=registry)


def test_the_real_demucs_entry_runs_exactly_when_its_checkpoint_exists():
    spec = REGISTRY["demucs"]
    if spec.checkpoint_path("drums").is_file():
        assert [s.name for s in resolve_methods("drums", ["demucs"])[0]] == ["demucs"]
    else:
        with pytest.raises(MethodError, match="^method 'demucs' needs"):
            resolve_methods("drums", ["demucs"])


@pytest.mark.parametrize(
    "task, names, message",
    [
        ("drums", ["nope"], "^unknown method 'nope'; choose from console, mono"),
        ("full", ["demucs"], "^method 'demucs' does not serve task 'full'"),
        ("jazz", None, "^unknown task 'jazz'"),
    ],
)
def test_bad_names_are_refused_in_one_line(task, names, message, registry):
    with pytest.raises(MethodError, match=message) as info:
        resolve_methods(task, names, registry=registry)
    assert "\n" not in str(info.value)


def test_a_missing_checkpoint_is_named_with_how_to_make_it(tmp_path, monkeypatch):
    monkeypatch.setattr(dmc.mixers.spec, "CHECKPOINT_DIR", tmp_path)
    spec = REGISTRY["console"]
    assert spec.checkpoint_path("full") == tmp_path / "console_full.pt"
    with pytest.raises(MethodError) as info:
        resolve_methods("full", ["console", "mono"])
    assert str(info.value) == (
        f"method 'console' needs the checkpoint {tmp_path / 'console_full.pt'}, which does not exist "
        f"(make it with `python -m dmc.train console --task full --export {tmp_path / 'console_full.pt'}`)"
    )


def test_built_methods_are_the_baselines_and_reference_conditions():
    assert isinstance(build_method(REGISTRY["mono"], "drums"), MonoMixer)
    random = build_method(REGISTRY["random"], "full", seed=9)
    assert isinstance(random, RandomMixer) and random.seed == 9 and random.task == "full"
    anchor = build_method(REGISTRY["anchor_7k"], "drums")
    assert isinstance(anchor, ReferenceCondition) and anchor.cutoff_hz == 7000.0
    with pytest.raises(MethodError, match="needs a seed"):
        build_method(REGISTRY["random"], "drums")


#: The two edits of docs/render.md's worked example, applied to a copy of the tree.
ALTERNATE_ROW = """    Method(
        ALTERNATE,
        KIND_SYSTEM,
        "tracks panned hard left and right in turn",
        baseline=True,
    ),
"""
ALTERNATE_MIXER = """

class AlternateMixer:
    name = ALTERNATE

    def mix(self, tracks, sample_rate, names=None):
        tracks = check_tracks(tracks, sample_rate)
        pans = [float(i % 2) for i in range(len(tracks))]
        return MixResult(sum(constant_power_pan(t, p) for t, p in zip(tracks, pans)))


METHODS.append(MethodSpec(ALTERNATE, TASKS, "tracks", lambda request: AlternateMixer()))
"""


@pytest.mark.slow
def test_a_new_baseline_is_two_files_and_renders_like_any_method(tmp_path):
    """docs/render.md's worked example: one row in the contracts, one mixer with its recipe;
    the renderer then takes it by name, and nothing else names it."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from dmc.contracts.manifest import load_manifest

    root = Path(__file__).resolve().parents[3]
    tree = tmp_path / "tree"
    shutil.copytree(
        root / "dmc",
        tree / "dmc",
        ignore=shutil.ignore_patterns("__pycache__", "assets", "checkpoints"),
    )
    for big in ("datasets/demo/assets", "checkpoints"):
        (tree / "dmc" / big).symlink_to(root / "dmc" / big)
    conditions = tree / "dmc" / "contracts" / "conditions.py"
    text = conditions.read_text()
    text = text.replace(
        "\n#: The emulation table's", '\nALTERNATE = "alternate"\n#: The emulation table\'s', 1
    )
    anchor = '    *(\n        Method(f"tcn{depth}"'
    assert anchor in text
    conditions.write_text(text.replace(anchor, ALTERNATE_ROW + anchor, 1))
    baselines = tree / "dmc" / "mixers" / "baselines.py"
    text = baselines.read_text().replace(
        "from dmc.contracts.conditions import MONO, RANDOM",
        "from dmc.contracts.conditions import ALTERNATE, MONO, RANDOM",
    )
    baselines.write_text(text + ALTERNATE_MIXER)
    changed = [
        p.relative_to(tree).as_posix()
        for p in (tree / "dmc").rglob("*.py")
        if p.read_bytes() != (root / p.relative_to(tree)).read_bytes()
    ]
    assert sorted(changed) == ["dmc/contracts/conditions.py", "dmc/mixers/baselines.py"]
    out = tmp_path / "render"
    command = [
        sys.executable, "-m", "dmc.render", "testset", "--task", "drums",
        "--methods", "alternate,mono,target", "--passages", "1", "--seconds", "2",
        "--out", str(out), "--no-progress", "--workers", "0",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    passage = load_manifest(out).passages("drums")[0]
    assert passage.methods == ["mono", "alternate", "target"]
    assert "alternate" in done.stdout  # the metrics summary names it


def test_a_default_can_differ_per_task(registry):
    """A method may join the default render of one task and wait to be asked for in another."""
    from dmc.mixers.spec import ALWAYS, ON_REQUEST

    registry["mono"] = MethodSpec(
        "mono",
        ("drums", "full"),
        "tracks",
        lambda r: MonoMixer(r.task),
        default={"drums": ON_REQUEST, "full": ALWAYS},
    )
    assert "mono" not in [s.name for s in resolve_methods("drums", registry=registry)[0]]
    assert "mono" in [s.name for s in resolve_methods("full", registry=registry)[0]]
    assert [s.name for s in resolve_methods("drums", ["mono"], registry=registry)[0]] == ["mono"]
