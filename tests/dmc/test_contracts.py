"""The shared vocabulary: condition names and order, and the ratings format's escaping and CSV."""

from __future__ import annotations

import csv
import io
import random

import pandas as pd
import pytest

from dmc.contracts.conditions import (
    BUILT_IN_METHODS,
    check_method_name,
    is_reference_or_anchor,
    sort_methods,
)
from dmc.contracts.files import atomic_write_text, file_sha256
from dmc.contracts.ratings import RATING_COLUMNS, escape_cell, to_csv, unescape_cell


def test_display_order_puts_built_in_conditions_first_then_imported_systems_by_name():
    assert sort_methods(
        ["mono", "zeta_mix", "anchor_3k5", "target", "alpha", "console", "mono"]
    ) == [
        "target",
        "console",
        "mono",
        "anchor_3k5",
        "alpha",
        "zeta_mix",
    ]
    assert sort_methods(reversed(BUILT_IN_METHODS)) == list(BUILT_IN_METHODS)
    assert BUILT_IN_METHODS[0] == "target" and BUILT_IN_METHODS[-2:] == ("anchor_7k", "anchor_3k5")
    assert is_reference_or_anchor("anchor_7k") and not is_reference_or_anchor("console")


@pytest.mark.parametrize("name", ["my_mixer", "wavenet2", "a"])
def test_any_lowercase_identifier_names_a_method(name):
    assert check_method_name(name, allow_built_in=False) == name


@pytest.mark.parametrize("name", ["My", "2mix", "with space", "", "x" * 33, "ü", None, "a-b"])
def test_other_method_names_are_refused(name):
    with pytest.raises(ValueError, match="lowercase identifier"):
        check_method_name(name)


def test_an_outside_system_cannot_take_a_built_in_name():
    assert check_method_name("console") == "console"
    with pytest.raises(ValueError, match="built-in"):
        check_method_name("console", allow_built_in=False)


TRICKY = [
    "=1+1",
    "+SUM(A1)",
    "-2",
    "@cmd",
    "  =HYPERLINK(x)",
    " \t=1+1",
    "\r=1",
    "ok\r=1+1*cmd|' /C calc'!A0",
    "ext\r=1+2",
    "\x00=1",
    "\x0b@x",
    "'=already",
    "'",
    "''",
    "it's",
    'say "hi", then\nleave',
    "a = b",
    "",
]


@pytest.mark.parametrize("value", TRICKY)
def test_escaping_is_exactly_undone(value):
    assert unescape_cell(escape_cell(value)) == value


def test_escaped_cells_never_start_a_formula_after_blanks_or_control_characters():
    for value in TRICKY:
        escaped = escape_cell(value)
        stripped = escaped.lstrip("".join(chr(c) for c in range(33)))
        assert not stripped.startswith(("=", "+", "-", "@")), repr(value)


def test_escaping_round_trips_random_text():
    rng = random.Random(0)
    alphabet = "=+-@' \t\r\nab,\"\x00\x1f"
    for _ in range(2000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        assert unescape_cell(escape_cell(value)) == value


def test_csv_export_is_one_row_per_record_for_pandas_and_the_csv_module():
    rows = [
        {c: f"{c}-{i}" for c in RATING_COLUMNS} | {"rater_id": value, "rating": 0.5}
        for i, value in enumerate(TRICKY)
    ]
    text = to_csv(rows, RATING_COLUMNS)
    parsed = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(parsed) == len(rows)
    assert [unescape_cell(r["rater_id"]) for r in parsed] == TRICKY
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert len(frame) == len(rows)
    assert [unescape_cell(v) for v in frame["rater_id"]] == TRICKY
    for line in text.split("\n")[1:]:  # no physical line starts a formula
        assert not line.startswith(("=", "+", "-", "@"))


def test_atomic_writes_replace_whole_files(tmp_path):
    path = atomic_write_text(tmp_path / "deep" / "file.txt", "one")
    atomic_write_text(path, "two")
    assert path.read_text() == "two"
    assert [p.name for p in path.parent.iterdir()] == ["file.txt"]
    assert file_sha256(path) == "3fc4ccfe745870e2c0d99f71f30ff0656c8dedd41cc1d7d3d376b0dbe685e2f3"
