"""The README as a test: every documented command runs, as written, in the order written.

The shell commands of every ``bash`` block of README.md are taken out in order (comments
dropped, ``\\`` continuations joined) and run one by one, with bash, in a temporary
folder laid out like a fresh clone (the packages linked in, no ``runs/``, ``renders/``
or ``instance/``; ``.venv`` is the environment running the tests). The commands run with
``DMC_SMOKE=1`` (:func:`dmc.cli.smoke`: every training and rendering command on the
least data, saying so), a demo cache shared with the other tests of the session, and a
temporary HOME. ``serve`` is started on a free port, asked for ``/`` and stopped; a
password prompt gets a valid password twice. A command is skipped only for what CI
lacks, with the reason (:data:`SKIPS`): installing the environment, the test suite
itself, real dataset folders, another system's mixes, real ratings.

A block made only of training commands (the researcher's, "Training from scratch")
depends on nothing but the demo data, as the README says; those blocks run in order in
a second clone folder, beside the other commands (two processes at a time on two
cores: the commands are mostly single-threaded start-up and small models), and each of
their tests waits for its command's result.

So a README line that stops working, or stops doing what the README says, fails here;
and a new line is run without a change to this file.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: What a fresh clone has besides the packages: linked, never written.
CLONE_LINKS = ("dmc", "evaluation", "analysis", "webapp", "README.md")
ADMIN_PASSWORD = "a newcomer's long password"
#: Seconds one command may take (smoke-sized: the slowest take well under a minute).
COMMAND_TIMEOUT_S = 240

#: ``(pattern, reason)``: a command matching ``pattern`` is skipped with ``reason``.
SKIPS = (
    (
        r"pip install -q -e \".\[test\]\".*pytest$",
        "the test suite itself; CI runs this line verbatim (test_ci_runs_the_readme_test_command_verbatim)",
    ),
    (r"--root /data/", "needs a real dataset folder, which CI does not have"),
    (
        r"path/to/its/mixes",
        "needs another system's mixes; tests/integration/test_bring_your_own.py runs this step",
    ),
    (
        r"(analysis/report\.py|analysis page) --ratings ratings\.csv",
        "needs real ratings (an empty export is refused in one line); the tour's step 6 "
        "runs the same analysis on a simulated panel",
    ),
)


@dataclass(frozen=True)
class Command:
    """One documented command: its text, the README section it is in, its place there, and
    whether it belongs to a block of training commands (run in the training lane)."""

    text: str
    section: str
    number: int
    training: bool = False

    @property
    def id(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.section.lower()).strip("-")[:24]
        return f"{self.number:02d}-{slug}-{self.text[:60]}"


def readme_commands(text: str) -> list[Command]:
    """The shell commands of every ``bash`` block of ``text``, in order."""
    commands: list[Command] = []
    section = "top"
    in_block = False
    pending = ""
    block: list[Command] = []
    for line in text.splitlines():
        if not in_block and line.startswith("## "):
            section = line[3:].strip()
        elif line.strip() == "```bash":
            in_block, block = True, []
        elif in_block and line.strip() == "```":
            in_block = False
            if block and all(c.text.startswith("python -m dmc.train ") for c in block):
                commands[-len(block) :] = [
                    Command(c.text, c.section, c.number, training=True) for c in block
                ]
        elif in_block:
            if line.lstrip().startswith("#"):  # a comment line
                continue
            code = re.split(r"\s{2,}#\s", line)[0].rstrip()  # less a trailing comment
            if code.endswith("\\"):
                pending += code[:-1].strip() + " "
                continue
            code = (pending + code.strip()).strip()
            pending = ""
            if code:
                commands.append(Command(code, section, len(commands) + 1))
                block.append(commands[-1])
    return commands


COMMANDS = readme_commands(README.read_text(encoding="utf-8"))


def skip_reason(command: str) -> str | None:
    for pattern, reason in SKIPS:
        if re.search(pattern, command):
            return reason
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --------------------------------------------------------------------------- the workspace


def make_clone(folder: Path) -> Path:
    folder.mkdir()
    for name in CLONE_LINKS:
        (folder / name).symlink_to(ROOT / name)
    (folder / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    return folder


@dataclass
class Workspace:
    """The clone folders, the environment, and the training lane's results."""

    clone: Path
    training_clone: Path
    env: dict
    training: dict[int, Future] = field(default_factory=dict)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, demo_cache_dir):
    """Folders like a fresh clone, the environment the commands run with, and the training
    lane: the training blocks' commands, started at once, in order, in their own clone."""
    folder = tmp_path_factory.mktemp("readme")
    home = folder / "home"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("DMC_") and k not in ("VIRTUAL_ENV", "PYTHONPATH")
    }
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        DMC_CACHE_DIR=str(demo_cache_dir),
        DMC_SMOKE="1",
        DMC_COMPILE=os.environ.get("DMC_COMPILE", "0"),
        MPLBACKEND="Agg",
        PYTHONUNBUFFERED="1",
        OMP_NUM_THREADS="1",  # two commands at a time share the cores; no spinning threads
    )
    space = Workspace(make_clone(folder / "clone"), make_clone(folder / "training"), env)
    lane = [c for c in COMMANDS if c.training]
    space.training = {c.number: Future() for c in lane}

    def run_lane() -> None:
        for command in lane:
            future = space.training[command.number]
            try:
                future.set_result(execute(command, space.training_clone, env))
            except BaseException as exc:  # noqa: BLE001 (reported by the command's test)
                future.set_exception(exc)

    thread = threading.Thread(target=run_lane, name="readme-training", daemon=True)
    thread.start()
    yield space
    thread.join(timeout=COMMAND_TIMEOUT_S)


def run(
    command: str, cwd: Path, env: dict, stdin: str | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", command],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        start_new_session=True,  # no terminal: a password prompt reads standard input
        check=False,
    )


def as_tested(command: str) -> str:
    """The command as it runs here: the environment exists already (``.venv`` is this one)."""
    return re.sub(r"^python3 -m venv \.venv && \.venv/bin/pip install [^&]*&& ", "", command)


def serve_and_probe(command: str, cwd: Path, env: dict) -> str:
    """Start a ``serve`` command on a free port, GET ``/``, stop it; returns its output."""
    port = free_port()
    if "--port" in command:
        command = re.sub(r"--port \d+", f"--port {port}", command)
    else:
        command += f" --port {port}"
    log = cwd / f"serve-{port}.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            ["bash", "-c", f"exec {command}"],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, f"serve stopped:\n{log.read_text()}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, f"serve never answered:\n{log.read_text()}"
                time.sleep(0.5)
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # gunicorn stops its workers on TERM
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
    return log.read_text()


# --------------------------------------------------------------------------- the tests


def test_readme_starts_with_the_two_commands():
    head = README.read_text().split("```bash", 1)[0]
    assert head.count("\n") <= 2, "the commands must come first"
    main, tests = COMMANDS[0].text, COMMANDS[1].text
    assert "dmc.render testset" in main
    assert "pytest" in tests


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert COMMANDS[1].text in [line.strip() for line in ci]


def test_the_commands_are_found_in_every_section():
    sections = {c.section for c in COMMANDS}
    assert {"top", "Your first 10 minutes", "A tour, step by step", "Real datasets"} <= sections
    texts = [c.text for c in COMMANDS]
    assert any(t.startswith("python -m dmc.train console --task full") for t in texts)
    assert all(not t.startswith("#") and "  # " not in t for t in texts)


@dataclass
class Outcome:
    """What running a command gave: the process, or a skip reason."""

    command: str
    done: subprocess.CompletedProcess | None = None
    skipped: str | None = None


def execute(command: Command, clone: Path, env: dict) -> Outcome:
    """Run one documented command in ``clone`` as the README says (or say why not)."""
    reason = skip_reason(command.text)
    if reason:
        return Outcome(command.text, skipped=reason)
    text = as_tested(command.text)
    if text == ". .venv/bin/activate" and not (clone / ".venv" / "bin" / "activate").is_file():
        return Outcome(text, skipped="the tests run outside a virtual environment")
    if re.search(r"(^|\s)python -m webapp serve\b", text):
        output = serve_and_probe(text, clone, env)
        return Outcome(text, subprocess.CompletedProcess(text, 0, output, ""))
    stdin = f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n" if "set-admin-password" in text else None
    return Outcome(text, run(text, clone, env, stdin))


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS, ids=[c.id for c in COMMANDS])
def test_documented_command_runs(command: Command, workspace):
    if command.training:  # already running in the training lane
        outcome = workspace.training[command.number].result(timeout=COMMAND_TIMEOUT_S)
        clone = workspace.training_clone
    else:
        clone = workspace.clone
        outcome = execute(command, clone, workspace.env)
    if outcome.skipped:
        pytest.skip(outcome.skipped)
    done = outcome.done
    assert done.returncode == 0, (
        f"README command failed ({command.section}):\n  {command.text}\n"
        f"exit status {done.returncode}\n--- stdout\n{done.stdout[-3000:]}\n"
        f"--- stderr\n{done.stderr[-3000:]}"
    )
    assert "Traceback" not in done.stdout + done.stderr, (done.stdout + done.stderr)[-3000:]
    check_what_it_says(outcome.command, clone, done)


def check_what_it_says(text: str, clone: Path, done: subprocess.CompletedProcess) -> None:
    """The few promises of the README that a zero exit status alone would not keep."""
    if text.startswith("python -m dmc.mix") and "--params" in text:
        assert "left out mix.wav: a reference mix, not a track" in done.stderr
    exported = re.search(r"python -m dmc\.train \w+ .*--export (\S+)", text)
    if exported:  # the closing line: what was exported and how well it validated
        last = done.stdout.strip().splitlines()[-1]
        assert last.startswith(f"exported {exported.group(1)} "), done.stdout[-2000:]
        assert "best validation loss" in last, last
    if "dmc.train console" in text and "--encoder runs/encoder/best.pt" in text:
        assert "building on the encoder runs/encoder/best.pt" in done.stderr
    if re.search(r"(^|\s)python -m webapp serve\b", text):
        assert "listening on http://127.0.0.1:" in done.stdout
    if "create-raters" in text:
        assert done.stdout.count("/r/") >= 1 and "warning:" not in done.stderr, done.stderr
    if text.startswith("python -c") and "load_songs('demo', 'drums', 'test')" in text:
        assert done.stdout.strip() == "5"


def test_the_workspace_is_left_as_the_readme_says(workspace):
    """After the commands: the renders, the runs of the training section, the tour's files."""
    clone, training = workspace.clone, workspace.training_clone
    if not (clone / "renders").exists():
        pytest.skip("the documented commands did not run (run the whole module)")
    for path in ("renders/testset/manifest.json", "renders/transform/manifest.json", "mix.wav",
                 "edited.wav", "params.json", "simulated.csv", "instance"):  # fmt: skip
        assert (clone / path).exists(), path
    for run_dir in ("encoder", "transform-tcn10", "console-drums", "console-full",
                    "demucs-drums", "console-drums-stereo", "first"):  # fmt: skip
        assert (training / "runs" / run_dir / "best.pt").is_file(), run_dir
    record = (training / "runs" / "console-full" / "record.json").read_text()
    assert '"encoder": "runs/encoder/best.pt"' in record
    assert '"tcn": "runs/transform-tcn10/best.pt"' in record
    written = [
        p.name + ("/" if p.is_dir() else "")
        for p in clone.iterdir()
        if p.name not in CLONE_LINKS and not p.name.startswith("serve-")  # this test's logs
    ]
    ignored = subprocess.run(
        ["git", "-C", str(ROOT), "check-ignore", "--no-index", "--stdin"],
        input="\n".join(written),
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    assert sorted(set(written) - set(ignored)) == [], "git would show these as new files"


def test_only_what_ci_lacks_is_skipped():
    skipped = [c.text for c in COMMANDS if skip_reason(c.text)]
    assert len(skipped) <= len(COMMANDS) // 4, skipped
    assert not [t for t in skipped if "dmc.train" in t and "/data/" not in t]


def test_the_results_page_is_what_the_shipped_records_say():
    """docs/results.md is generated from dmc/checkpoints' records (scripts/results_table.py):
    a checkpoint retrained without regenerating the page fails here."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "results_table.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_the_results_page_lists_every_shipped_model():
    """A model added to dmc.pretrained.SHIPPED but not to the page's table would be left
    off docs/results.md without a word."""
    import runpy

    from dmc.pretrained import CHECKPOINT_DIR, SHIPPED

    script = runpy.run_path(str(ROOT / "scripts" / "results_table.py"))
    assert list(script["MODELS"]) == list(SHIPPED)
    assert script["CHECKPOINTS"] == CHECKPOINT_DIR
