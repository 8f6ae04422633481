"""``python -m evaluation.design``: check a test config against a render and list its trials."""

from __future__ import annotations

import json
from pathlib import Path

from dmc.cli import EXIT_BAD_INPUT, EXIT_OK, Parser, fail
from dmc.contracts.manifest import ManifestError
from evaluation.design.config import DesignError
from evaluation.design.core import load_design
from evaluation.design.plans import plan_for_rater

PROG = "python -m evaluation.design"


def get_parser() -> Parser:
    parser = Parser(
        prog=PROG,
        description="Check a listening-test config against a render manifest and list its trials.",
    )
    parser.add_argument(
        "--manifest",
        type=Path,
        default=None,
        help="render manifest or its folder (default: ./renders/testset)",
    )
    parser.add_argument(
        "--config", type=Path, default=None, help="test config, YAML or TOML (default: defaults)"
    )
    parser.add_argument("--rater", default=None, help="also print the plan of this rater id")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    try:
        design = load_design(args.manifest, args.config)
    except (DesignError, ManifestError) as exc:
        return fail(PROG, str(exc), EXIT_BAD_INPUT)
    print(
        f"design {design.design_hash}: "
        f"{len(design.training)} training + {len(design.trials)} trials"
    )
    for t in design.all_trials:
        ref = f" (open reference: {t.reference_method})" if t.reference_method else ""
        print(f"  {t.trial_id}: {', '.join(t.methods)}{ref}")
    if args.rater:
        print(json.dumps(plan_for_rater(design, args.rater).to_json(), indent=2))
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
