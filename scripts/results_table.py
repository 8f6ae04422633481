"""docs/results.md from the shipped models' records: result figures that cannot go stale.

    python scripts/results_table.py            # write docs/results.md
    python scripts/results_table.py --check    # exit 1 if docs/results.md is not what the records say

Every figure of the page comes from a file beside the shipped checkpoints, each made by a
command the page names:

- ``dmc/checkpoints/<model>.json``: each model's training record (steps, wall time, the
  validation of the model that ships);
- ``dmc/checkpoints/evaluation.csv`` and ``evaluation_recovery.csv``:
  ``python -m dmc.train evaluate --task both --split test --csv dmc/checkpoints/evaluation.csv``
  (whole test songs; every held-out method; the consoles' parameter recovery);
- ``dmc/checkpoints/testset_metrics.csv``: the ``metrics.csv`` of
  ``python -m dmc.render testset`` (the listening-test passages).

``tests/test_docs.py`` runs ``--check``, so a new checkpoint without its records, or a
record without this page, fails the tests; the other docs link here instead of copying
the numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINTS = ROOT / "dmc" / "checkpoints"
OUT = ROOT / "docs" / "results.md"
#: Shipped models in the order of the page, and what each is.
MODELS = {
    "encoder": "track encoder (role classifier)",
    "tcn10": "TCN-10, 16 channels",
    "tcn20": "TCN-20, 16 channels",
    "tcn30": "TCN-30, 16 channels",
    "console_drums": "console, drums, effects through the TCN (gain and pan)",
    "console_full": "console, full, effects through TCN-10",
    "console_dsp_drums": "console, drums, exact effects (whole strip)",
    "console_dsp_full": "console, full, exact effects",
    "demucs_drums": "Demucs baseline, drums",
}
#: Validation figures shown per model, when its record has them.
VALIDATION = {
    "val_sum_difference": "sum/diff MR-STFT",
    "val_balance": "balance",
    "val_pan": "track pan",
    "val_mrstft": "emulation MR-STFT",
    "val_input_mrstft": "untouched input",
    "val_accuracy": "role accuracy",
}
EVALUATION_COLUMNS = {
    "sum_difference_mrstft": "sum/diff MR-STFT",
    "balance_error_db": "balance err dB",
    "panning_error_any_view_high": "pan err high (any kit view)",
    "track_pan_error": "track pan err",
}
PASSAGE_COLUMNS = {
    "sd_mrstft": "sum/diff MR-STFT",
    "balance_error_db_any_view": "balance err dB (any view)",
    "panning_error_any_view_high": "pan err high (any view)",
    "loudness_error_lu": "loudness err LU",
}


def _number(value: float, digits: int = 3) -> str:
    return "-" if value != value else f"{value:.{digits}f}"


def models_section() -> list[str]:
    lines = [
        "## Shipped models and their training",
        "",
        "From `dmc/checkpoints/<model>.json` (the exact command is in each; "
        "`dmc/checkpoints/README.md` explains the recipes).",
        "",
        "| model | what | steps (best) | wall time | validation of the shipped model |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    for name, what in MODELS.items():
        path = CHECKPOINTS / f"{name}.json"
        if not (CHECKPOINTS / f"{name}.pt").is_file():
            continue
        record = json.loads(path.read_text())
        shipped = record.get("shipped_model", {})
        validation = shipped.get("validation") or record.get("final_validation", {})
        figures = (
            ", ".join(
                f"{label} {_number(validation[key])}"
                for key, label in VALIDATION.items()
                if key in validation
            )
            or f"loss {_number(validation['val_loss'])} (its own training objective)"
        )
        steps = f"{record['steps']} ({shipped.get('step', record['steps'])})"
        minutes = f"{record['wall_time_s'] / 60:.0f} min"
        earlier = record.get("earlier_stages", [])
        if earlier:
            # a model fine-tuned in stages: the last stage's figures, and what came before it
            steps += f" after {len(earlier)} stages of {sum(s['steps'] for s in earlier)}"
            minutes += f" (+{sum(s['wall_time_s'] for s in earlier) / 60:.0f} min before)"
        lines.append(f"| `{name}` | {what} | {steps} | {minutes} | {figures} |")
    return lines


def evaluation_section() -> list[str]:
    path = CHECKPOINTS / "evaluation.csv"
    if not path.is_file():
        return []
    frame = pd.read_csv(path)
    lines = [
        "## The test split: whole songs",
        "",
        "`python -m dmc.train evaluate --task both --split test --csv dmc/checkpoints/evaluation.csv`: "
        "each method mixes each whole gain-staged test song; distances to the target, "
        "lower is better (stereo columns mirror-invariant; docs/render.md defines them).",
        "",
    ]
    for task, rows in frame.groupby("task", sort=False):
        means = rows.groupby("method", sort=False)[list(EVALUATION_COLUMNS)].mean()
        songs = rows.groupby("method", sort=False)["song_id"].nunique()
        lines += [
            f"**{task}** ({songs.iloc[0]} songs)",
            "",
            "| method | " + " | ".join(EVALUATION_COLUMNS.values()) + " |",
            "| --- |" + " ---: |" * len(EVALUATION_COLUMNS),
        ]
        for method, row in means.iterrows():
            lines.append(
                f"| {method} | " + " | ".join(_number(row[c]) for c in EVALUATION_COLUMNS) + " |"
            )
        lines.append("")
    return lines


def recovery_section() -> list[str]:
    path = CHECKPOINTS / "evaluation_recovery.csv"
    if not path.is_file():
        return []
    frame = pd.read_csv(path)
    lines = [
        "## Parameter recovery",
        "",
        "The demo's targets were mixed by a known rule book, so each console's settings can "
        "be compared with the ones that made the target: median absolute error per parameter "
        "over the test songs' tracks, in real units (dB, Hz, ms, pan 0-1; pans "
        "mirror-invariant per group), beside the error of always answering the neutral "
        "setting, and over the tracks where the parameter matters (a band's frequency "
        "where its gain is at least 1 dB, the compressor's timing where its ratio is at "
        "least 1.5, the room where the wet level is at least 0.1). From "
        "`dmc/checkpoints/evaluation_recovery.csv` (the same command).",
        "",
    ]
    for (task, method), rows in frame.groupby(["task", "method"], sort=False):
        lines += [
            f"**{task}, {method}**",
            "",
            "| parameter | tracks | median abs error | neutral setting's | where it matters: tracks | median abs error |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in rows.to_dict("records"):
            engaged = row.get("engaged_tracks")
            if engaged != engaged or engaged is None:
                matters = "all | -"
            elif int(engaged) == 0:  # the engineer never engaged what it depends on
                matters = "0 | -"
            else:
                matters = f"{int(engaged)} | {_number(row['engaged_median_abs_error'], 3)}"
            lines.append(
                f"| {row['parameter']} | {row['tracks']} | {_number(row['median_abs_error'])} "
                f"| {_number(row['neutral_median_abs_error'])} | {matters} |"
            )
        lines.append("")
    return lines


def passages_section() -> list[str]:
    path = CHECKPOINTS / "testset_metrics.csv"
    if not path.is_file():
        return []
    frame = pd.read_csv(path)
    columns = [c for c in PASSAGE_COLUMNS if c in frame.columns]
    lines = [
        "## The listening-test passages",
        "",
        "`python -m dmc.render testset` (the demo test split, one 10 s passage per song, "
        "every mix loudness-normalised as listeners hear it), its `metrics.csv` kept as "
        "`dmc/checkpoints/testset_metrics.csv`: mean over the passages, lower is better.",
        "",
    ]
    for task, rows in frame[frame["method"] != "target"].groupby("task", sort=False):
        means = rows.groupby("method", sort=False)[columns].mean()
        counts = rows.groupby("method", sort=False)["passage_id"].nunique()
        lines += [
            f"**{task}**",
            "",
            "| method | passages | " + " | ".join(PASSAGE_COLUMNS[c] for c in columns) + " |",
            "| --- | ---: |" + " ---: |" * len(columns),
        ]
        for method, row in means.iterrows():
            cells = " | ".join(_number(row[c]) for c in columns)
            lines.append(f"| {method} | {counts[method]} | {cells} |")
        lines.append("")
    return lines


def page() -> str:
    lines = [
        "# Results of the shipped models",
        "",
        "Generated by `python scripts/results_table.py` from the records beside the shipped "
        "checkpoints; do not edit by hand (`tests/test_docs.py` checks it is up to date). "
        "What the models are and how they were trained: [model.md](model.md).",
        "",
    ]
    for section in (models_section, evaluation_section, recovery_section, passages_section):
        part = section()
        if part:
            lines += [*part, ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    text = page()
    if args.check:
        if not OUT.is_file() or OUT.read_text() != text:
            print(
                f"{OUT} is not what the records say: run python scripts/results_table.py",
                file=sys.stderr,
            )
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
