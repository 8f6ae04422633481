"""One way to start each program, one exit-code convention (dmc.cli): 0 ok, 1 failed, 2 bad input."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import re
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


#: The commands users run (the web app's are tested with the web app), by their ``python -m`` name.
USER_COMMANDS = {
    "python -m dmc.render": "dmc.render.cli:main",
    "python -m dmc.train": "dmc.train.__main__:main",
    "python -m dmc.mix": "dmc.mix:main",
    "python -m dmc.datasets": "dmc.datasets.__main__:main",
    "python -m evaluation.design": "evaluation.design.__main__:main",
    "python -m analysis": "analysis.__main__:main",
}
#: reStructuredText in a help text: ``literal`` or a Sphinx role (:mod:`x`, :func:`y`, :py:class:`z`).
RST_MARKUP = re.compile(r"``|:[a-z]+(?::[a-z]+)?:`")


def _subcommands(target: str) -> list[str]:
    """A command's subcommands, as its code dispatches them (a table, or argparse's subparsers)."""
    module = importlib.import_module(target.partition(":")[0])
    for table in ("SUBCOMMANDS", "COMMANDS"):
        if isinstance(getattr(module, table, None), dict):
            return list(getattr(module, table))
    parser = module.get_parser()
    found = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return list(found[0].choices) if found else []


HELP_CASES = [
    pytest.param(target, argv, id=" ".join([prog, *argv]))
    for prog, target in USER_COMMANDS.items()
    for argv in [[], *([sub] for sub in _subcommands(target))]
]


def _help(target: str, argv: list[str], capfd) -> str:
    """``<command> [sub] --help``: its exit status must be 0, and what it printed."""
    try:
        code = _main(target)([*argv, "--help"])
    except SystemExit as exit:  # argparse prints the help and exits
        code = exit.code
    out, err = capfd.readouterr()
    assert code in (0, None), err
    return out


@pytest.mark.parametrize(("target", "argv"), HELP_CASES)
def test_help_is_plain_text_for_users(target, argv, capfd):
    """No docstring markup reaches a user: every command and subcommand's --help is plain
    (``--task`` and :mod:`dmc.dsp` are for developers reading the source)."""
    text = _help(target, argv, capfd)
    assert len(text.splitlines()) > 3
    assert not RST_MARKUP.search(text), RST_MARKUP.search(text).group(0) + " in:\n" + text


@pytest.mark.parametrize(
    "target", [t for t in USER_COMMANDS.values() if _subcommands(t)], ids=lambda t: t
)
def test_help_describes_every_subcommand(target, capfd):
    """The top --help names each subcommand at the start of a line with words on what it
    does, not just its name in the usage line."""
    text = _help(target, [], capfd)
    body = text.split("\n", 1)[1]  # after the usage line, which lists names only
    undescribed = [
        sub
        for sub in _subcommands(target)
        if not re.search(rf"^[ -]*{re.escape(sub)}:?[ ]+\S+[ ]+\S", body, re.MULTILINE)
    ]
    assert undescribed == [], text
