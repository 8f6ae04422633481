"""The listening-test config file: which passages and conditions a panel hears, and how.

A test config is a small YAML (or TOML) file beside a render manifest. It says which
tasks and conditions are rated, how the reference is presented, whether anchors are
included, how many training trials come first, whether each rater gets a random
balanced subset of the trials, which checks a rater must pass before moving on, and
the texts on every page. This module only parses and checks the file's own shape;
:mod:`evaluation.design` checks it against a manifest and builds the trials.

Why a separate file at all: webMUSHRA's users edit one YAML per test, which is the
right interface for people setting up a panel; a typo there must produce a message
naming the key, not a test that silently ignores the setting.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from dmc.contracts.conditions import ANCHORS, LOW_ANCHOR, MID_ANCHOR, REFERENCE
from dmc.contracts.scale import DEFAULT_SCALE, QUALITY_BANDS, RatingScale

#: How the target mix is presented. ``hidden``: rated like any other condition without
#: being named (the paper's test); ``open``: a labelled reference button, not rated;
#: ``both``: the BS.1534-3 arrangement (open reference plus hidden reference);
#: ``none``: the target is not used.
REFERENCE_MODES = ("hidden", "open", "both", "none")
#: BS.1534-3: at most 12 rated signals (hidden reference and anchors included) per trial.
MAX_SIGNALS = 12
#: The method name of the reference (target) mix in manifests.
REFERENCE_METHOD = REFERENCE

#: Page texts that do not depend on the rating scale (see :func:`default_texts`).
_FIXED_TEXTS: dict[str, str] = {
    "title": "Listening test: automatic mixing",
    "welcome": (
        "Thank you for taking part. You will hear short passages of music, each mixed in "
        "several ways, and rate how good each mix sounds to you as a mixing engineer."
    ),
    "consent": (
        "Your answers and ratings are stored without your name and used only for research. "
        "You may stop at any time; your link lets you continue later where you left off."
    ),
    "questionnaire": "A few questions about you and how you are listening.",
    "volume": (
        "Play the example and set your playback volume to a comfortable level. "
        "Please do not change it during the test."
    ),
    "training": (
        "Training: get to know the interface and the range of quality. "
        "Your ratings on this page are kept apart and not used in the results."
    ),
    "headphones": (
        "This test needs headphones. Each of the next examples plays three low tones, one "
        "after the other; choose the one that is quietest. Each example plays once, so "
        "listen closely. It takes about a minute."
    ),
    "headphones_failed": (
        "Thank you. Your answers suggest that you may be listening through loudspeakers "
        "rather than headphones. Please carry on with the test, on headphones if you have "
        "them; your ratings are kept and marked accordingly."
    ),
    "comments": "Anything you want to tell us about the test or the mixes?",
    "finish": "Thank you! Your ratings have been saved.",
}
_TEXT_ORDER = (
    "title", "welcome", "consent", "questionnaire", "volume", "training", "trial", "reference",
    "scale", "headphones", "headphones_failed", "comments", "finish",
)  # fmt: skip
_COUNT_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def default_texts(scale: RatingScale = DEFAULT_SCALE) -> dict[str, str]:
    """The page texts of a test on ``scale`` (the trial, reference and scale texts name
    its ends and bands: "from Bad to Excellent", "1.00 (top of Excellent)")."""
    lowest, highest = scale.plain(scale.minimum), scale.plain(scale.maximum)
    if scale.bands:
        bottom, top = scale.bands[0], scale.bands[-1]
        span = f"from {bottom} to {top}"
        count = len(scale.bands)
        words = _COUNT_WORDS[count] if count < len(_COUNT_WORDS) else str(count)
        runs = (
            f"The scale runs from {lowest} (bottom of {bottom}) to {highest} (top of {top}); "
            f"the {words} band{'s are' if count > 1 else ' is'} a guide, not steps."
        )
        top_of = f"top of {top}"
    else:
        span = f"from {lowest} to {highest}"
        runs = f"The scale runs from {lowest} to {highest}."
        top_of = "the top of the scale"
    texts = {
        **_FIXED_TEXTS,
        "trial": (
            "Play every version, compare them as often as you like, and rate each one on the "
            f"scale {span}. Rate at least one version at the very top."
        ),
        "reference": (
            "The Reference button plays the original engineer's mix of this passage. Use it as "
            "the standard: rate how close each version comes to it, with "
            f"{scale.format(scale.maximum)} ({top_of}) "
            "for a version you cannot tell apart from it. One of the versions is the reference "
            "itself, hidden, so at least one deserves the top."
        ),
        "scale": (
            f"{runs} Use the whole scale, and keep the ratings on one page comparable "
            "with each other."
        ),
    }
    return {key: texts[key] for key in _TEXT_ORDER}


#: The page texts of a test on the default scale (BS.1534-3 on 0-1).
DEFAULT_TEXTS: dict[str, str] = default_texts(DEFAULT_SCALE)


#: Woods et al. (2017): six trials, at least five correct.
HEADPHONE_TRIALS, HEADPHONE_MIN_CORRECT = 6, 5


class DesignError(ValueError):
    """A test config is malformed or does not fit the manifest; the message says where."""


@dataclass(frozen=True)
class Checks:
    """Conditions a rater must meet before a trial can be submitted (each a switch).

    Attributes:
        play_all_before_rating: every condition must have been played at least once.
        one_at_top: at least one condition rated at the top of the scale (its ``top``,
            1.0 on the default scale), as BS.1534-3 instructs assessors.
        only_playing_slider_movable: only the slider of the condition being heard can
            be moved (BS.1534-3 practice; enforced in the browser only).
    """

    play_all_before_rating: bool = True
    one_at_top: bool = True
    only_playing_slider_movable: bool = False


@dataclass(frozen=True)
class TrainingSpec:
    """Training trials shown before the test; their ratings are stored but flagged.

    Attributes:
        trials: how many training trials each rater does unless ``passages`` names them.
        passages: explicit ``"task:passage_id"`` entries (used as named).
        unrated: draw each rater's training passages at random from the passages that
            rater does not rate, so training never previews a scored passage. ``None``
            (default): when ``trials_per_rater`` leaves enough passages over, else the
            first passages of the selected tasks, one per task in turn (every rater
            rates every passage then); ``True``: required (an error when impossible);
            ``False``: always the first passages.
    """

    trials: int = 1
    passages: tuple[str, ...] = ()
    unrated: bool | None = None


@dataclass(frozen=True)
class HeadphoneCheck:
    """The headphone screening before the first trial (anti-phase test, Woods et al. 2017).

    Each trial plays three 200 Hz tones; one is 6 dB quieter, one is in anti-phase
    between the channels, which sounds as loud as the third over headphones but is
    attenuated over loudspeakers. A rater who picks the quiet one on at least
    ``min_correct`` of ``trials`` trials passes; one who does not is told so politely,
    carries on, and is recorded as screened (``headphone_check`` ``failed``).

    Attributes:
        enabled: run the check.
        trials: number of three-tone trials.
        min_correct: correct answers needed to pass.
    """

    enabled: bool = False
    trials: int = HEADPHONE_TRIALS
    min_correct: int = HEADPHONE_MIN_CORRECT


@dataclass(frozen=True)
class TestConfig:
    """A parsed test config (see ``evaluation/configs/default.yaml`` for the format).

    Attributes:
        tasks: tasks to include (``None``: every task in the manifest).
        conditions: rated methods besides the reference and anchors; ``None`` means
            every such method present; a mapping gives a list per task.
        reference: one of :data:`REFERENCE_MODES`.
        anchors: anchor methods to include (``anchor_7k`` is the BS.1534 mid anchor).
        passages: optional subset of passage ids per task.
        training: the training phase.
        trials_per_rater: a random balanced subset of this many trials per rater
            (``None``: every rater hears every trial).
        randomize_trial_order, randomize_condition_order: per-rater shuffles, seeded
            by the rater id and ``seed``.
        seed: the design's seed; with a rater id it fixes that rater's plan.
        checks: required checks per trial.
        headphone_check: the headphone screening (off unless configured).
        completion_code, return_url: shown on the finish page (crowdsourcing).
        scale: the rating scale raters use (:class:`dmc.contracts.scale.RatingScale`;
            stored ratings are normalised to 0-1 whatever it is).
        texts: page texts (defaults from :func:`default_texts` for the scale).
    """

    tasks: tuple[str, ...] | None = None
    conditions: tuple[str, ...] | dict[str, tuple[str, ...]] | None = None
    reference: str = "hidden"
    anchors: tuple[str, ...] = ()
    passages: dict[str, tuple[str, ...]] | None = None
    training: TrainingSpec = field(default_factory=TrainingSpec)
    trials_per_rater: int | None = None
    randomize_trial_order: bool = True
    randomize_condition_order: bool = True
    seed: int = 0
    checks: Checks = field(default_factory=Checks)
    headphone_check: HeadphoneCheck = field(default_factory=HeadphoneCheck)
    completion_code: str | None = None
    return_url: str | None = None
    scale: RatingScale = DEFAULT_SCALE
    texts: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TEXTS))


_TOP_KEYS = {
    "title",
    "tasks",
    "conditions",
    "reference",
    "anchors",
    "passages",
    "training",
    "trials_per_rater",
    "randomize",
    "seed",
    "checks",
    "headphone_check",
    "completion",
    "scale",
    "texts",
}


def _fail(source: str, message: str) -> DesignError:
    return DesignError(f"{source}: {message}")


def _str_list(value: Any, source: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise _fail(source, f"{key!r} must be a list of names, got {value!r}")
    return tuple(value)


def _bool(value: Any, source: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(source, f"{key!r} must be true or false, got {value!r}")
    return value


def _only_keys(mapping: Any, allowed: set[str], source: str, key: str) -> dict:
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise _fail(source, f"{key!r} must be a mapping, got {mapping!r}")
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise _fail(source, f"unknown key(s) {unknown} in {key!r}; allowed: {sorted(allowed)}")
    return mapping


def parse_config(data: dict[str, Any] | None, source: str = "test config") -> TestConfig:
    """Turn a parsed YAML/TOML mapping into a :class:`TestConfig`.

    Raises:
        DesignError: an unknown key, an unknown condition or a value of the wrong kind;
            the message names the source and the key.
    """
    data = _only_keys(data, _TOP_KEYS, source, "the top level")
    kwargs: dict[str, Any] = {}
    if data.get("tasks") is not None:
        kwargs["tasks"] = _str_list(data["tasks"], source, "tasks")
    conditions = data.get("conditions")
    if isinstance(conditions, dict):
        kwargs["conditions"] = {
            t: _str_list(v, source, f"conditions.{t}") for t, v in conditions.items()
        }
    elif conditions is not None:
        kwargs["conditions"] = _str_list(conditions, source, "conditions")
    reference = data.get("reference", "hidden")
    if reference not in REFERENCE_MODES:
        raise _fail(
            source, f"reference must be one of {', '.join(REFERENCE_MODES)}, got {reference!r}"
        )
    kwargs["reference"] = reference
    anchors = data.get("anchors", False)
    if anchors is True:
        kwargs["anchors"] = (MID_ANCHOR, LOW_ANCHOR)
    elif anchors is False or anchors is None:
        kwargs["anchors"] = ()
    else:
        kwargs["anchors"] = _str_list(anchors, source, "anchors")
        bad = [a for a in kwargs["anchors"] if a not in ANCHORS]
        if bad:
            raise _fail(source, f"unknown anchor(s) {bad}; anchors are {', '.join(ANCHORS)}")
    if data.get("passages") is not None:
        passages = data["passages"]
        if not isinstance(passages, dict):
            raise _fail(source, f"'passages' must map task names to passage ids, got {passages!r}")
        kwargs["passages"] = {t: _str_list(v, source, f"passages.{t}") for t, v in passages.items()}
    training = _only_keys(
        data.get("training"), {"trials", "passages", "unrated"}, source, "training"
    )
    n_training = training.get(
        "trials", len(training.get("passages", [])) if "passages" in training else 1
    )
    if not isinstance(n_training, int) or isinstance(n_training, bool) or n_training < 0:
        raise _fail(source, f"training.trials must be a whole number >= 0, got {n_training!r}")
    unrated = training.get("unrated")
    kwargs["training"] = TrainingSpec(
        n_training,
        _str_list(training.get("passages", []), source, "training.passages"),
        None if unrated is None else _bool(unrated, source, "training.unrated"),
    )
    subset = data.get("trials_per_rater")
    if subset is not None and (
        not isinstance(subset, int) or isinstance(subset, bool) or subset < 1
    ):
        raise _fail(
            source, f"trials_per_rater must be a whole number >= 1 or omitted, got {subset!r}"
        )
    kwargs["trials_per_rater"] = subset
    randomize = _only_keys(
        data.get("randomize"), {"trial_order", "condition_order"}, source, "randomize"
    )
    kwargs["randomize_trial_order"] = _bool(
        randomize.get("trial_order", True), source, "randomize.trial_order"
    )
    kwargs["randomize_condition_order"] = _bool(
        randomize.get("condition_order", True), source, "randomize.condition_order"
    )
    seed = data.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise _fail(source, f"seed must be a whole number, got {seed!r}")
    kwargs["seed"] = seed
    check_names = {f.name for f in fields(Checks)}
    checks = _only_keys(data.get("checks"), check_names, source, "checks")
    kwargs["checks"] = Checks(**{k: _bool(v, source, f"checks.{k}") for k, v in checks.items()})
    kwargs["headphone_check"] = _headphone_check(data.get("headphone_check"), source)
    completion = _only_keys(data.get("completion"), {"code", "return_url"}, source, "completion")
    for key in ("code", "return_url"):
        value = completion.get(key)
        if value is not None and not isinstance(value, str):
            raise _fail(source, f"completion.{key} must be text, got {value!r}")
    return_url = completion.get("return_url")
    if return_url and not return_url.startswith(("https://", "http://")):
        raise _fail(source, f"completion.return_url must be an http(s) address, got {return_url!r}")
    kwargs["completion_code"] = completion.get("code")
    kwargs["return_url"] = return_url
    kwargs["scale"] = _scale(data.get("scale"), source)
    texts = default_texts(kwargs["scale"])
    given = _only_keys(data.get("texts"), set(DEFAULT_TEXTS), source, "texts")
    for key, value in given.items():
        if not isinstance(value, str):
            raise _fail(source, f"texts.{key} must be text, got {value!r}")
        texts[key] = value
    if data.get("title") is not None:
        texts["title"] = str(data["title"])
    kwargs["texts"] = texts
    return TestConfig(**kwargs)


def _scale(value: Any, source: str) -> RatingScale:
    """``{min: 0, max: 100, step: 1, bands: [...], top: 100}``; every key optional.

    Without ``step`` a range gets 100 steps; without ``bands`` the five BS.1534-3 bands.
    """
    spec = _only_keys(value, {"min", "max", "step", "bands", "top"}, source, "scale")
    lowest = spec.get("min", DEFAULT_SCALE.minimum)
    highest = spec.get("max", DEFAULT_SCALE.maximum)
    numbers = (lowest, highest)
    if all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in numbers):
        step = spec.get("step", (highest - lowest) / 100)
    else:
        step = spec.get("step", DEFAULT_SCALE.step)
    bands = spec.get("bands", list(QUALITY_BANDS))
    if bands is None:
        bands = []
    if not isinstance(bands, (list, tuple)):
        raise _fail(source, f"scale.bands must be a list of labels, got {bands!r}")
    try:
        return RatingScale(lowest, highest, step, tuple(bands), spec.get("top"))
    except ValueError as exc:
        raise _fail(source, str(exc)) from None


def _headphone_check(value: Any, source: str) -> HeadphoneCheck:
    """``true``/``false`` or ``{trials: 6, min_correct: 5}`` (a mapping turns it on)."""
    if value is None or isinstance(value, bool):
        return HeadphoneCheck(enabled=bool(value))
    spec = _only_keys(value, {"enabled", "trials", "min_correct"}, source, "headphone_check")
    enabled = _bool(spec.get("enabled", True), source, "headphone_check.enabled")
    numbers = {}
    for key, default in (("trials", HEADPHONE_TRIALS), ("min_correct", HEADPHONE_MIN_CORRECT)):
        number = spec.get(key, default)
        if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 20:
            raise _fail(
                source, f"headphone_check.{key} must be a whole number from 1 to 20, got {number!r}"
            )
        numbers[key] = number
    if numbers["min_correct"] > numbers["trials"]:
        raise _fail(
            source,
            f"headphone_check.min_correct ({numbers['min_correct']}) is more than "
            f"headphone_check.trials ({numbers['trials']})",
        )
    return HeadphoneCheck(enabled, numbers["trials"], numbers["min_correct"])


def load_config(path: str | os.PathLike | None) -> TestConfig:
    """Read a test config from YAML (``.yaml``/``.yml``) or TOML (``.toml``).

    ``None`` gives the defaults (every task and condition, hidden reference, one
    training trial), which is what the web app serves when no config is named.

    Raises:
        DesignError: the file is missing, unreadable or invalid (the message names it).
    """
    if path is None:
        return parse_config({}, "default test config")
    path = Path(path)
    if not path.is_file():
        raise DesignError(f"test config not found: {path}")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        elif path.suffix.lower() in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        else:
            raise DesignError(f"{path}: a test config must end in .yaml, .yml or .toml")
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise DesignError(f"cannot parse test config {path}: {exc}") from None
    if data is not None and not isinstance(data, dict):
        raise DesignError(f"{path}: the top level of a test config must be a mapping")
    return parse_config(data, str(path))
