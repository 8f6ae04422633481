"""The README's first lines are the newcomer's two commands; CI must run the second verbatim."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("```bash", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.strip().splitlines()]


def test_readme_starts_with_the_two_commands():
    head = (ROOT / "README.md").read_text().split("```bash", 1)[0]
    assert head.count("\n") <= 2, "the commands must come first"
    main, tests = _readme_commands()
    assert "dmc.render testset" in main
    assert "pytest" in tests


def test_ci_runs_the_readme_test_command_verbatim():
    _, tests = _readme_commands()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in [line.strip() for line in ci]
