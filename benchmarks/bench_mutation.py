"""Mutation check: realistic one-line bugs in the critical modules must each fail a test.

    python benchmarks/bench_mutation.py [--only NAME ...] [--tests PATH ...] [--timeout 300]
                                        [--list] [--check] [--no-baseline]

A test suite that passes says little until it is shown to fail on the bugs that matter.
Each mutant below is one bug that would corrupt a listening test quietly (a rater's
letters, plays and retries, the screening boundaries and its headphone rule, a statistic
over incomplete blocks, loudness at every sample rate and the true-peak guard, the
console's mask and pan law, the stereo metrics' orientation, opaque names and equal
served lengths, the admin login throttle, the test design and its flags, imports of
other systems' mixes): a file, an exact snippet of it, its replacement, and the tests
that must catch it.

The check copies the repository's tracked files (as they are in the working tree, with
uncommitted edits) into a temporary folder, verifies that Python imports the packages
from that copy and not from the editable install, runs every listed test once unmutated
(all must pass), then applies one mutant at a time and runs its tests with the same
Python, ``PYTHONPATH`` pointing at the copy, under a per-mutant time limit. A mutant is
``caught`` when pytest reports failing tests (exit 1); ``survived`` when they pass;
``stale`` when its snippet is not in the file exactly once (the code moved on: update
the mutant); ``error`` when pytest could not run (a mutant that breaks imports proves
nothing); ``timeout`` past the limit. Exits 0 only when every mutant is caught.

``--check`` only looks for the snippets (a second, no tests run); ``--tests`` runs the
given tests against every selected mutant instead of its own list, to show which test
catches what (``--only same-letters --tests tests/evaluation/test_letter_shuffle.py``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("dmc", "evaluation", "webapp", "analysis")


@dataclass(frozen=True)
class Mutant:
    """One bug: replace ``original`` (exactly once in ``path``) and expect ``tests`` to fail."""

    name: str
    area: str
    path: str
    original: str
    replacement: str
    tests: tuple[str, ...]
    bug: str


SCREENING_TESTS = ("tests/analysis/test_screening.py", "tests/analysis/test_silent_bugs.py")
STATISTICS_TESTS = ("tests/analysis/test_statistics.py", "tests/analysis/test_silent_bugs.py")
LOUDNESS_TESTS = (
    "tests/dmc/test_audio.py",
    "tests/dmc/test_loudness_defaults.py",
    "tests/dmc/test_loudness_rates.py",
    "tests/dmc/render/test_true_peak.py",
)
CONSOLE_TESTS = ("tests/dmc/models/test_console.py", "tests/dmc/test_effects.py")
STORAGE_TESTS = (
    "tests/webapp/test_letter_mapping.py",
    "tests/webapp/test_api.py::test_a_saved_trial_is_final_and_an_identical_resubmission_harmless",
    "tests/webapp/test_retries_two_raters.py",
)
NAMING_TESTS = ("tests/dmc/render/test_naming.py",)
DESIGN_TESTS = (
    "tests/evaluation/test_design.py",
    "tests/evaluation/test_letter_shuffle.py",
    "tests/evaluation/test_design_flags.py",
)
IMPORT_TESTS = ("tests/dmc/render/test_import.py", "tests/dmc/render/test_import_rates.py")
STEREO_TESTS = ("tests/dmc/test_metrics.py", "tests/dmc/test_stereo_ties.py")
LOGIN_TESTS = ("tests/webapp/test_login.py", "tests/webapp/test_login_per_client.py")
#: What only the Chromium test caught before: a trial's files at one length, the plays per
#: letter, the headphone rule, on 10 s stimuli without a browser.
TEN_SECOND_TESTS = ("tests/webapp/test_ten_second_trials.py",)

MUTANTS = (
    # ------------------------------------------------------------------ screening
    Mutant(
        "anchor-exemption-40",
        "screening",
        "analysis/screening.py",
        "anchor_exemption_fraction: float = 0.25",
        "anchor_exemption_fraction: float = 0.4",
        SCREENING_TESTS,
        "items become exempt from the anchor rule only above 40 % of the raters",
    ),
    Mutant(
        "anchor-exemption-20",
        "screening",
        "analysis/screening.py",
        "anchor_exemption_fraction: float = 0.25",
        "anchor_exemption_fraction: float = 0.2",
        SCREENING_TESTS,
        "items become exempt from the anchor rule above 20 % of the raters",
    ),
    Mutant(
        "exceeds-inclusive",
        "screening",
        "analysis/screening.py",
        "count * exact.denominator > exact.numerator * total",
        "count * exact.denominator >= exact.numerator * total",
        SCREENING_TESTS,
        "'more than 15 %' read as 'at least 15 %'",
    ),
    Mutant(
        "max-item-fraction-20",
        "screening",
        "analysis/screening.py",
        "max_item_fraction: float = 0.15",
        "max_item_fraction: float = 0.2",
        SCREENING_TESTS,
        "an assessor is excluded only above 20 % of their items",
    ),
    Mutant(
        "reference-below-inclusive",
        "screening",
        "analysis/screening.py",
        'reference["rating"].to_numpy() < rules.reference_min',
        'reference["rating"].to_numpy() <= rules.reference_min',
        SCREENING_TESTS,
        "a hidden reference rated exactly 0.9 counts against the assessor",
    ),
    Mutant(
        "anchor-above-inclusive",
        "screening",
        "analysis/screening.py",
        'anchor["rating"].to_numpy() > rules.anchor_max, raters',
        'anchor["rating"].to_numpy() >= rules.anchor_max, raters',
        SCREENING_TESTS,
        "a mid anchor rated exactly 0.9 counts against the assessor",
    ),
    Mutant(
        "training-screened",
        "screening",
        "analysis/screening.py",
        'scored = ratings.loc[~ratings["is_training"].to_numpy(dtype=bool)]',
        "scored = ratings",
        SCREENING_TESTS,
        "training trials count in the screening and stay in the ratings",
    ),
    Mutant(
        "exempt-item-still-counted",
        "screening",
        "analysis/screening.py",
        "anchor = anchor.loc[~keys.isin(list(exempt_keys))]",
        "anchor = anchor",
        SCREENING_TESTS,
        "an exempt item still counts against the assessors who rated its anchor high",
    ),
    Mutant(
        "headphone-rule-off-by-default",
        "screening",
        "analysis/screening.py",
        "headphone_check: bool = True",
        "headphone_check: bool = False",
        (*SCREENING_TESTS, *TEN_SECOND_TESTS),
        "raters who failed the headphone check are kept by the default rules",
    ),
    # ------------------------------------------------------------------ statistics
    Mutant(
        "friedman-keeps-incomplete-blocks",
        "statistics",
        "analysis/inference.py",
        "table = means.dropna()",
        "table = means",
        STATISTICS_TESTS,
        "Friedman runs on blocks with a missing cell (NaN statistic, or a wrong one)",
    ),
    Mutant(
        "wilcoxon-unpaired-blocks",
        "statistics",
        "analysis/inference.py",
        "both = rated[:, i] & rated[:, j]",
        "both = rated[:, i]",
        STATISTICS_TESTS,
        "a Wilcoxon pair uses blocks where only its first method was rated",
    ),
    Mutant(
        "holm-to-bonferroni",
        "statistics",
        "analysis/inference.py",
        'method="holm"',
        'method="bonferroni"',
        STATISTICS_TESTS,
        "Bonferroni instead of Holm's step-down correction",
    ),
    Mutant(
        "kendalls-w-denominator",
        "statistics",
        "analysis/inference.py",
        "float(result.statistic) / (n * (k - 1))",
        "float(result.statistic) / (n * k)",
        STATISTICS_TESTS,
        "Kendall's W divided by n*k instead of n*(k-1)",
    ),
    Mutant(
        "rank-biserial-sign",
        "statistics",
        "analysis/inference.py",
        "(ranks[d > 0].sum() - ranks[d < 0].sum())",
        "(ranks[d < 0].sum() - ranks[d > 0].sum())",
        STATISTICS_TESTS,
        "the effect size favours the wrong method",
    ),
    Mutant(
        "permutation-one-sided",
        "statistics",
        "analysis/inference.py",
        'alternative="two-sided",\n        axis=0,',
        'alternative="greater",\n        axis=0,',
        STATISTICS_TESTS,
        "the sign-flip permutation test one-sided",
    ),
    # ------------------------------------------------------------------ loudness and MP3
    Mutant(
        "clip-guard-above-full-scale",
        "loudness",
        "dmc/render/finish.py",
        "CLIP_GUARD_DBTP = -0.5",
        "CLIP_GUARD_DBTP = 0.5",
        LOUDNESS_TESTS,
        "peaks between -0.5 and +0.5 dBTP go to the encoder unlimited and clip when decoded",
    ),
    Mutant(
        "clip-guard-below-ceiling",
        "loudness",
        "dmc/render/finish.py",
        "CLIP_GUARD_DBTP = -0.5",
        "CLIP_GUARD_DBTP = -1.5",
        LOUDNESS_TESTS,
        "mixes below the -1 dBTP ceiling are limited (their dynamics changed for nothing)",
    ),
    Mutant(
        "finish-reports-instead-of-limiting",
        "loudness",
        "dmc/render/finish.py",
        'peak_policy="limit",',
        'peak_policy="report",',
        LOUDNESS_TESTS,
        "the guard fires but the second pass does not limit",
    ),
    Mutant(
        "default-target-22",
        "loudness",
        "dmc/contracts/policies.py",
        "DEFAULT_TARGET_LUFS = -23.0",
        "DEFAULT_TARGET_LUFS = -22.0",
        LOUDNESS_TESTS,
        "the default loudness (normalize_loudness, a render's policy) is -22 LUFS",
    ),
    Mutant(
        "true-peak-not-oversampled",
        "loudness",
        "dmc/audio.py",
        "oversample: int = 4",
        "oversample: int = 1",
        LOUDNESS_TESTS,
        "sample peak instead of true peak: inter-sample overs go unseen",
    ),
    Mutant(
        "meter-built-for-44k1",
        "loudness",
        "dmc/audio.py",
        "meter = pyloudnorm.Meter(sample_rate)",
        "meter = pyloudnorm.Meter(44100)",
        (*LOUDNESS_TESTS, "tests/dmc/render/test_import_rates.py"),
        "a BS.1770 meter for 44.1 kHz at every rate: -20.7 LUFS for case 1 at 22.05 kHz",
    ),
    Mutant(
        "limiter-loses-loudness",
        "loudness",
        "dmc/audio.py",
        "out = out * db_to_gain(target_lufs - integrated_loudness(out, sample_rate))",
        "out = out * 1.0",
        LOUDNESS_TESTS,
        "a limited mix comes out quieter than the others",
    ),
    # ------------------------------------------------------------------ console
    Mutant(
        "context-ignores-mask",
        "console",
        "dmc/console.py",
        "weights = mask.to(embeddings.dtype).unsqueeze(-1)",
        "weights = torch.ones_like(embeddings[..., :1])",
        CONSOLE_TESTS,
        "padded tracks take part in the context average",
    ),
    Mutant(
        "render-mixes-padding",
        "console",
        "dmc/console.py",
        "active = mask.reshape(-1)\n        rows = torch.arange",
        "active = torch.ones_like(mask.reshape(-1))\n        rows = torch.arange",
        CONSOLE_TESTS,
        "padded tracks are mixed into the stereo sum",
    ),
    Mutant(
        "pan-law-mirrored",
        "console",
        "dmc/nn/effects.py",
        "torch.cat([torch.cos(theta) * audio, torch.sin(theta) * audio], dim=1)",
        "torch.cat([torch.sin(theta) * audio, torch.cos(theta) * audio], dim=1)",
        CONSOLE_TESTS,
        "the console pans left for right",
    ),
    Mutant(
        "pan-law-linear",
        "console",
        "dmc/effects/chain.py",
        "np.stack([np.cos(theta)[..., None] * mono, np.sin(theta)[..., None] * mono], axis=-2)",
        "np.stack([(1 - theta / (np.pi / 2))[..., None] * mono, "
        "(theta / (np.pi / 2))[..., None] * mono], axis=-2)",
        CONSOLE_TESTS,
        "a linear pan law (-6 dB at the centre) in the reference chain",
    ),
    # ------------------------------------------------------------------ stereo image metrics
    Mutant(
        "tie-picks-the-worse-orientation",
        "stereo",
        "dmc/metrics.py",
        'return min(tied, key=lambda c: c[0]["broadband"])',
        'return max(tied, key=lambda c: c[0]["broadband"])',
        STEREO_TESTS,
        "on a tie in panning, the balance error of the orientation leaning away from the target",
    ),
    # ------------------------------------------------------------------ web app storage
    Mutant(
        "another-raters-letters",
        "storage",
        "webapp/services/raters.py",
        '(Assignment.rater_pk == Rater.id) & (Assignment.trial_id == bindparam("trial_id"))',
        '(Assignment.trial_id == bindparam("trial_id"))',
        STORAGE_TESTS,
        "a submission is translated with any rater's letters for that trial",
    ),
    Mutant(
        "canonical-letters",
        "storage",
        "webapp/services/raters.py",
        "labels = json.loads(labels_json)",
        "labels = dict(zip(json.loads(labels_json), trial.methods))",
        STORAGE_TESTS,
        "letters translated in the design's canonical order, not the rater's shuffle",
    ),
    Mutant(
        "saved-trial-replaced",
        "storage",
        "webapp/services/raters.py",
        "if stored is not None and stored[1] is not None:",
        "if False:",
        STORAGE_TESTS,
        "a saved trial is no longer final (and a retry is no longer harmless)",
    ),
    Mutant(
        "retry-against-every-rater",
        "storage",
        "webapp/services/raters.py",
        'Rating.rater_pk == bindparam("rater_pk"), Rating.trial_id == bindparam("trial_id")',
        'Rating.trial_id == bindparam("trial_id")',
        STORAGE_TESTS,
        "a retry is compared with every rater's ratings of the trial: 409 to a correct retry",
    ),
    Mutant(
        "plays-looked-up-by-method",
        "storage",
        "webapp/services/raters.py",
        '"plays": submission.plays.get(label, 0),',
        '"plays": submission.plays.get(method, 0),',
        (*STORAGE_TESTS, *TEN_SECOND_TESTS),
        "every condition's play count is stored as 0 (plays are keyed by letter)",
    ),
    # ------------------------------------------------------------------ blinding and login
    Mutant(
        "padding-to-the-smallest-file",
        "blinding",
        "webapp/services/blinding.py",
        "return _length_for(max(audio_bytes(p) for p in paths))",
        "return _length_for(min(audio_bytes(p) for p in paths))",
        ("tests/webapp/test_audio.py", *TEN_SECOND_TESTS),
        "a trial's larger files are served longer than the rest: the byte length tells them",
    ),
    Mutant(
        "right-login-clears-every-client",
        "login",
        "webapp/services/auth.py",
        "s.execute(delete(LoginFailure).where(LoginFailure.client == client))",
        "s.execute(delete(LoginFailure))",
        LOGIN_TESTS,
        "the admin's login unlocks every guesser and resets the global count",
    ),
    # ------------------------------------------------------------------ opaque names
    Mutant(
        "unkeyed-names",
        "naming",
        "dmc/render/naming.py",
        "hmac.new(bytes.fromhex(name_key), message, hashlib.sha256).hexdigest()",
        "hashlib.sha256(message).hexdigest()",
        NAMING_TESTS,
        "anyone can recompute which file is which method",
    ),
    Mutant(
        "names-without-method",
        "naming",
        "dmc/render/naming.py",
        'message = f"{task}/{passage_id}/{method}".encode()',
        'message = f"{task}/{passage_id}".encode()',
        NAMING_TESTS,
        "every condition of a passage gets one file name (they overwrite each other)",
    ),
    # ------------------------------------------------------------------ test design
    Mutant(
        "same-letters-every-trial",
        "design",
        "evaluation/design/plans.py",
        "            rng.shuffle(methods)",
        "            random.Random(seed).shuffle(methods)",
        DESIGN_TESTS,
        "a rater sees one letter -> method mapping on every trial of a task",
    ),
    Mutant(
        "subsets-unbalanced",
        "design",
        "evaluation/design/plans.py",
        "keyed = [(counts.get(t.trial_id, 0), rng.random(), i)",
        "keyed = [(0, rng.random(), i)",
        DESIGN_TESTS,
        "subsets drawn at random, ignoring how many raters each trial already has",
    ),
    Mutant(
        "training-on-rated-passages",
        "design",
        "evaluation/design/plans.py",
        "spare = [t for t in training if (t.task, t.passage_id) not in rated]",
        "spare = training",
        DESIGN_TESTS,
        "training previews passages the rater will score",
    ),
    Mutant(
        "seed-ignores-rater",
        "design",
        "evaluation/design/plans.py",
        'f"{design_seed}:{rater_id}"',
        'f"{design_seed}"',
        DESIGN_TESTS,
        "every rater gets the same order and letters",
    ),
    Mutant(
        "no-hidden-reference-with-both",
        "design",
        "evaluation/design/core.py",
        'if config.reference in ("hidden", "both"):',
        'if config.reference == "hidden":',
        DESIGN_TESTS,
        "reference: both loses the hidden reference (the screening's reference rule)",
    ),
    Mutant(
        "trial-order-reads-condition-flag",
        "design",
        "evaluation/design/plans.py",
        "if config.randomize_trial_order:\n        rng.shuffle(trials)",
        "if config.randomize_condition_order:\n        rng.shuffle(trials)",
        DESIGN_TESTS,
        "trials are shuffled by randomize.condition_order, not trial_order",
    ),
    Mutant(
        "condition-order-reads-trial-flag",
        "design",
        "evaluation/design/plans.py",
        "if config.randomize_condition_order:\n            rng.shuffle(methods)",
        "if config.randomize_trial_order:\n            rng.shuffle(methods)",
        DESIGN_TESTS,
        "letters are shuffled by randomize.trial_order, not condition_order",
    ),
    Mutant(
        "config-trial-order-key",
        "design",
        "evaluation/design/config.py",
        'randomize.get("trial_order", True), source, "randomize.trial_order"',
        'randomize.get("condition_order", True), source, "randomize.trial_order"',
        DESIGN_TESTS,
        "randomize.trial_order in a config is read from condition_order",
    ),
    # ------------------------------------------------------------------ imports of other systems
    Mutant(
        "import-rates-swapped",
        "import",
        "dmc/render/intake.py",
        "audio = resample(found.audio, found.sample_rate, rate)",
        "audio = resample(found.audio, rate, found.sample_rate)",
        IMPORT_TESTS,
        "a 48 kHz mix into a 44.1 kHz render comes out 8.8 % slow and cut in the wrong place",
    ),
    Mutant(
        "song-cut-at-start-samples",
        "import",
        "dmc/render/intake.py",
        'start = int(round(entry.start_seconds * rate)) if window == "song" else 0',
        'start = int(round(entry.start_seconds)) if window == "song" else 0',
        IMPORT_TESTS,
        "whole-song mixes are cut at start_seconds samples: other music than the passage",
    ),
    Mutant(
        "short-passage-file-padded",
        "import",
        "dmc/render/intake.py",
        'if window == "passage" and abs(difference) > tolerance:',
        'if window == "passage" and difference > tolerance:',
        IMPORT_TESTS,
        "a passage file too short is padded with silence and imported",
    ),
    Mutant(
        "import-ignores-render-target",
        "import",
        "dmc/render/importer.py",
        "    loudness = manifest.loudness\n",
        "    loudness = LoudnessPolicy()\n",
        IMPORT_TESTS,
        "imported systems at -23 LUFS in a render at another target",
    ),
)


def copy_tracked_files(destination: Path) -> int:
    """Copy every tracked file, as it is in the working tree now, into ``destination``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.decode()
    count = 0
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # deleted in the working tree, or a submodule: skipped
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            count += 1
    return count


def environment(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(copy), env.get("PYTHONPATH")]))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def check_imports_from(copy: Path, mutants) -> None:
    """Fail unless every mutated module (and every package) is imported from the copy."""
    modules = sorted(
        set(PACKAGES) | {m.path.removesuffix(".py").replace("/", ".") for m in mutants}
    )
    code = (
        "import importlib.util, sys\n"
        "for name in sys.argv[1:]:\n"
        "    print(name, importlib.util.find_spec(name).origin)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *modules],
        cwd=copy,
        env=environment(copy),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for line in out.splitlines():
        name, origin = line.split(" ", 1)
        if not Path(origin).resolve().is_relative_to(copy.resolve()):
            raise SystemExit(f"{name} is imported from {origin}, not from the copy {copy}")


def run_pytest(copy: Path, tests, timeout_s: float) -> tuple[str, float, str]:
    """(outcome, seconds, last lines): ``passed``, ``failed``, ``timeout`` or ``error``."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--timeout={int(timeout_s)}",
        *tests,
    ]
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=copy,
        env=environment(copy),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return "timeout", time.perf_counter() - started, output[-2000:]
    seconds = time.perf_counter() - started
    outcome = {0: "passed", 1: "failed"}.get(process.returncode, "error")
    return outcome, seconds, output[-2000:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", default=[], help="mutant names containing this")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per mutant")
    parser.add_argument("--tests", action="append", default=[], help="run these tests instead")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--check", action="store_true", help="only check that snippets are found")
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the unmutated run of the tests"
    )
    args = parser.parse_args(argv)
    mutants = [m for m in MUTANTS if not args.only or any(o in m.name for o in args.only)]
    if args.list or not mutants:
        for m in MUTANTS:
            print(f"{m.name:38s} {m.area:10s} {m.path}: {m.bug}")
        return 0 if args.list else 2
    if args.tests:
        mutants = [replace(m, tests=tuple(args.tests)) for m in mutants]
    if args.check:
        stale = [m for m in mutants if (ROOT / m.path).read_text().count(m.original) != 1]
        for m in stale:
            print(f"  STALE     {m.name}: snippet not found exactly once in {m.path}")
        print(f"{len(mutants) - len(stale)} of {len(mutants)} snippets found exactly once")
        return 1 if stale else 0

    with tempfile.TemporaryDirectory(prefix="dmc-mutation-") as folder:
        copy = Path(folder)
        files = copy_tracked_files(copy)
        check_imports_from(copy, mutants)
        print(f"{files} tracked files copied to {copy}; packages import from the copy")
        tests = sorted({t for m in mutants for t in m.tests})
        if not args.no_baseline:
            outcome, seconds, tail = run_pytest(copy, tests, args.timeout * 2)
            if outcome != "passed":
                print(tail)
                print(
                    f"baseline: the unmutated tests {outcome} ({seconds:.0f} s); nothing to measure"
                )
                return 2
            print(f"baseline: {len(tests)} test paths pass unmutated ({seconds:.0f} s)")

        results = []
        for m in mutants:
            path = copy / m.path
            text = path.read_text()
            found = text.count(m.original)
            if found != 1:
                results.append((m, "stale", 0.0))
                print(f"  STALE     {m.name}: snippet found {found} times in {m.path}")
                continue
            path.write_text(text.replace(m.original, m.replacement))
            try:
                outcome, seconds, tail = run_pytest(copy, m.tests, args.timeout)
            finally:
                path.write_text(text)
            status = {"failed": "caught", "passed": "survived"}.get(outcome, outcome)
            results.append((m, status, seconds))
            print(f"  {status.upper():9s} {m.name} ({m.area}, {seconds:.0f} s): {m.bug}")
            if status not in ("caught", "survived"):
                print("    " + "\n    ".join(tail.strip().splitlines()[-5:]))

    caught = sum(status == "caught" for _, status, _ in results)
    print(
        f"mutation score: {caught} of {len(results)} caught ({100 * caught / len(results):.0f} %)"
    )
    for m, status, _ in results:
        if status != "caught":
            print(f"  not caught ({status}): {m.name} in {m.path}")
    return 0 if caught == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
