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
