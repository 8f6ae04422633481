"""One way to start each program, one exit-code convention (dmc.cli): 0 ok, 1 failed, 2 bad input."""

from __future__ import annotations

import importlib
import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ENTRY_POINTS = {
    "dmc-render": "dmc.render.cli:main",
    "dmc-mix": "dmc.mix:main",
    "dmc-train": "dmc.train.__main__:main",
    "dmc-design": "evaluation.design.__main__:main",
    "dmc-webapp": "webapp.__main__:main",
    "dmc-analysis": "analysis.__main__:main",
}


def _main(target: str):
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def test_every_program_has_an_entry_point_that_is_its_python_m_main():
    installed = {
        ep.name: ep.value
        for ep in importlib.metadata.distribution("dmc-mixing").entry_points
        if ep.group == "console_scripts"
    }
    assert installed == ENTRY_POINTS
    for target in ENTRY_POINTS.values():
        assert callable(_main(target))


BAD_INPUT = [
    ("dmc.render.cli:main", ["testset", "--task", "nope"], "unknown task 'nope'"),
    ("dmc.render.cli:main", ["testset", "--no-such-option"], "unrecognized arguments"),
    ("dmc.mix:main", ["/no/such/song"], "dmc.mix: error"),
    ("dmc.train.__main__:main", ["nope"], "unknown training subcommand 'nope'"),
    ("evaluation.design.__main__:main", ["--manifest", "/no/such/render"], "no render manifest"),
    ("webapp.__main__:main", ["serve", "--manifest", "/no/such/render"], "no render manifest"),
    ("analysis.__main__:main", ["nope"], "unknown command 'nope'"),
    ("analysis.__main__:main", ["boxplots", "--ratings", "/no/such.csv"], "no ratings file"),
    ("analysis.simulate:main", ["--effects", "console=2"], "quality must lie in"),
    ("analysis.power:main", ["--effects", "oops"], "bad effect"),
]


@pytest.mark.parametrize(("target", "argv", "message"), BAD_INPUT)
def test_bad_input_is_one_line_and_exit_status_2(target, argv, message, capsys):
    try:
        code = _main(target)(argv)
    except SystemExit as exit:  # argparse's usage errors
        code = exit.code
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err and len(err.splitlines()) == 1 and ": error: " in err, err


def test_an_installed_entry_point_runs():
    # pip puts the scripts beside the interpreter (.venv/bin), on PATH or not
    script = shutil.which("dmc-analysis", path=str(Path(sys.executable).parent)) or shutil.which(
        "dmc-analysis"
    )
    if script is None:
        pytest.skip("the package's scripts are not installed (pip install -e . makes them)")
    done = subprocess.run([script, "nope"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "unknown command 'nope'" in done.stderr
