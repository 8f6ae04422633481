"""``create-raters`` and ``check-test``: rater links on the served test, and what is served.

Both work on the test the instance serves (:mod:`webapp.services.snapshots`: what
``serve`` recorded), so a rater's plan is always drawn from the design raters are
served, and a link points where ``serve`` listens:

- without ``--manifest``/``--config`` they take the served test;
- with them, the test those files make now: the same as the served one (the same
  design, or the same files the served test was copied from, re-rendered or not) is
  the served test; another one is an error for ``create-raters`` unless ``--force``;
- before anything has been served they take the files (``./renders/testset`` and its
  ``test.yaml`` by default, as ``serve`` would).

The base of the links: ``--base-url``, else ``DMC_PUBLIC_URL``, else what ``serve``
recorded (its host and port); ``create-raters`` refuses when none is known.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click
from flask import current_app

from dmc.contracts.manifest import RENDER_COMMAND
from webapp.commands.common import (
    BadInput,
    checked_test_paths,
    command_app,
    instance_options,
    note,
    refuse_missing_files_early,
    test_options,
    warn,
)


@dataclass(frozen=True)
class Planned:
    """The test raters would be planned on, and how it relates to the served one."""

    study: object  # webapp.services.study.Study
    served: bool  # the served test (snapshot), not the files as they are now
    notes: tuple[str, ...] = ()
    other: str | None = None  # why this is not the served test (when it is not)


def _paths(manifest: Path | None, config: Path | None) -> tuple[Path, Path | None]:
    """The manifest and config files the options name, found as ``serve`` finds them."""
    from webapp.services.study import config_path_for, manifest_path_for

    given = checked_test_paths(manifest, config)
    app = current_app
    manifest_path = Path(given.get("MANIFEST_PATH") or manifest_path_for(app))
    config_path = Path(given["TEST_CONFIG"]) if "TEST_CONFIG" in given else None
    if config_path is None and config is None:
        config_path = config_path_for(app, manifest_path)
    return manifest_path, config_path


def _from_files(manifest_path: Path, config_path: Path | None):
    from dmc.contracts.manifest import ManifestError
    from evaluation.design.config import DesignError
    from webapp.services.study import load_study

    if not manifest_path.is_file():
        raise BadInput(
            f"nothing is served and no render manifest is at {manifest_path}; render one with "
            f"`{RENDER_COMMAND}` and serve it"
        )
    try:
        return load_study(manifest_path, config_path)
    except (ManifestError, DesignError) as exc:
        raise BadInput(str(exc)) from None


def planned_test(manifest: Path | None, config: Path | None) -> Planned:
    """The test raters are planned on (see the module docstring)."""
    from webapp.services.snapshots import serving
    from webapp.services.study import load_served

    current = serving()
    served = None
    if current is not None:
        status = load_served(current.folder)
        if status.study is None:
            raise BadInput(status.problem)
        served = status.study
    if served is None:
        return Planned(_from_files(*_paths(manifest, config)), False)
    given = manifest is not None or config is not None
    manifest_path, config_path = _paths(manifest, config) if given else (None, None)
    if not given or served.served.made_from(manifest_path, config_path):
        # no files named, or the files serve was given (re-rendered or not): the served test
        changed = served.served.sources_changed()
        return Planned(served, True, (_changed_note(served, changed),) if changed else ())
    candidate = _from_files(manifest_path, config_path)
    if candidate.design.design_hash == served.design.design_hash:
        return Planned(served, True)
    config_text = config_path or "the built-in design"
    other = (
        f"the instance serves {served.served.describe()}, but {manifest_path} with {config_text} "
        f"make design {candidate.design.design_hash} ({len(candidate.design.trials)} trials)"
    )
    return Planned(candidate, False, other=other)


def _changed_note(study, changed: list[str]) -> str:
    return (
        f"{', '.join(changed)} since test {study.served.test_id} started; the raters are "
        "planned on the test being served (what they will hear); serve --new-test starts "
        "a test on the files as they are now"
    )


def base_url_for(given: str | None) -> str:
    """The base of the links (see the module docstring).

    Raises:
        BadInput: none is known (one line saying how to give one).
    """
    from webapp.services.snapshots import serving

    if given:
        return given.rstrip("/")
    public = current_app.config.get("PUBLIC_URL")
    if public:
        return public.rstrip("/")
    current = serving()
    if current is not None and current.base_url:
        return current.base_url.rstrip("/")
    why = (
        current.base_url_problem
        if current is not None and current.base_url_problem
        else "serve has not run on this instance yet"
    )
    raise BadInput(
        f"cannot tell the address raters open ({why}); give --base-url "
        "https://listen.example.org or set DMC_PUBLIC_URL"
    )


@click.command("create-raters", short_help="Personal rater links on the served test.")
@click.argument("count", type=click.IntRange(1, 10000))
@click.option(
    "--base-url",
    metavar="URL",
    default=None,
    help="The address raters open, for the links (default: $DMC_PUBLIC_URL, else the host "
    "and port serve listens on).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Plan on the test --manifest/--config make even when it is not the one served.",
)
@test_options
@instance_options
def create_raters_command(
    count: int,
    base_url: str | None,
    force: bool,
    manifest: Path | None,
    config: Path | None,
    instance: Path | None,
    database_url: str | None,
) -> None:
    """Create COUNT personal rater links and print them (rater id, tab, link).

    Each rater's plan (trials, order, letters) is drawn from the test the instance
    serves; --manifest and --config are needed only before anything is served. A link
    is the rater's resume token: send it privately.
    """
    from webapp.services.raters import create_rater
    from webapp.storage.schema import init_db

    refuse_missing_files_early(instance, manifest, config)
    with command_app(instance, database_url).app_context():
        init_db()
        plan = planned_test(manifest, config)
        if plan.other is not None:
            if not force:
                raise BadInput(
                    f"{plan.other}; drop --manifest/--config to plan on the served test, or "
                    "add --force to plan on the other one (its raters can rate only once "
                    "serve --new-test serves it)"
                )
            warn(f"{plan.other}; planned on it anyway (--force)")
        for line in plan.notes:
            note(line)
        base = base_url_for(base_url)
        for _ in range(count):
            rater = create_rater(plan.study.design, consented=False)
            click.echo(f"{rater.rater_id}\t{base}/r/{rater.token}")


@click.command("check-test", short_help="Which test is served, and its trials.")
@test_options
@instance_options
def check_test_command(
    manifest: Path | None, config: Path | None, instance: Path | None, database_url: str | None
) -> None:
    """Say which test is served (its render and config) and list its trials.

    With --manifest/--config: the test those files make, and whether it is the one
    served. Exit status 2 when they do not make a valid test.
    """
    refuse_missing_files_early(instance, manifest, config)
    with command_app(instance, database_url).app_context():
        plan = planned_test(manifest, config)
        study = plan.study
        design = study.design
        if plan.served:
            click.echo(f"served: {study.served.describe()}")
            click.echo(f"snapshot {study.served.folder}, taken {study.served.snapshot_at}")
        else:
            source = study.config_path or "the built-in design"
            click.echo(f"manifest {study.manifest_path}; config {source}")
            click.echo(
                f"design {design.design_hash}: "
                f"{len(design.training)} training + {len(design.trials)} trials"
            )
            click.echo(f"not served: {plan.other}" if plan.other else "not served yet")
        for line in plan.notes:
            note(line)
        for trial in design.all_trials:
            reference = (
                f" (open reference: {trial.reference_method})" if trial.reference_method else ""
            )
            click.echo(f"  {trial.trial_id}: {', '.join(trial.methods)}{reference}")
