import pytest
import torch

from dmc.checkpoint import CheckpointError, read_model, save_model
from dmc.console import DifferentiableMixingConsole
from dmc.nn.tcn import TCN
from dmc.pretrained import load_model


def test_round_trip_rebuilds_the_model_from_the_file_alone(tiny, tmp_path):
    console = tiny.console("full")
    path = save_model(tmp_path / "c.pt", console, config={"lr": 1e-3}, training={"steps": 7})
    # plain content: loadable without trusting the file
    package = torch.load(path, weights_only=True)
    assert package["class_name"] == "DifferentiableMixingConsole" and package["format_version"] == 1
    loaded = load_model(path)
    assert isinstance(loaded, DifferentiableMixingConsole) and not loaded.training
    assert loaded.checkpoint_info == {"config": {"lr": 1e-3}, "training": {"steps": 7}}
    tracks = torch.from_numpy(tiny.tracks(3))[None]
    with torch.no_grad():
        for a, b in zip(console(tracks), loaded(tracks)):
            assert torch.equal(a, b)


def test_unknown_or_broken_files_raise_checkpoint_errors(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_model(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pt"):
        load_model(tmp_path / "junk.pt")
    torch.save(
        {
            "format": "dmc-model",
            "format_version": 1,
            "class_name": "Nope",
            "kwargs": {},
            "state_dict": {},
        },
        tmp_path / "nope.pt",
    )
    with pytest.raises(CheckpointError, match="holds model class 'Nope'; expected"):
        load_model(tmp_path / "nope.pt")
    torch.save({"format": "dmc-model", "format_version": 99}, tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match="version 99"):
        load_model(tmp_path / "future.pt")


def test_a_file_of_another_class_is_refused_by_name(tiny, tmp_path):
    """read_model takes only the classes the caller names: a console file is no TCN."""
    path = save_model(tmp_path / "c.pt", tiny.console("drums"))
    with pytest.raises(
        CheckpointError, match="holds model class 'DifferentiableMixingConsole'; expected TCN"
    ):
        read_model(path, TCN)
    assert isinstance(
        read_model(path, [TCN, DifferentiableMixingConsole]), DifferentiableMixingConsole
    )


def test_saving_is_atomic_and_leaves_no_temporary_files(tmp_path):
    save_model(tmp_path / "a.pt", TCN(num_blocks=1, channels=2))
    save_model(tmp_path / "a.pt", TCN(num_blocks=2, channels=2))  # overwrite in place
    assert [p.name for p in tmp_path.iterdir()] == ["a.pt"]
    assert len(load_model(tmp_path / "a.pt").blocks) == 2


def test_unregistered_models_and_non_plain_kwargs_are_refused(tmp_path):
    with pytest.raises(TypeError, match="not a registered model"):
        save_model(tmp_path / "x.pt", torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="not a plain value"):
        TCN(num_blocks=1, dilations=[object()])
