"""Every mutant of ``benchmarks/bench_mutation.py`` still finds its snippet.

The mutation check is run by hand; a refactor or a reformat that moves a snippet would
otherwise leave a mutant that silently proves nothing until the next manual run.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_mutant_snippet_is_found_exactly_once():
    result = subprocess.run(
        [sys.executable, "benchmarks/bench_mutation.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "STALE" not in result.stdout
