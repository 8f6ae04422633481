"""Condition names: the methods a passage is rendered with, as manifests, ratings and plots name them.

A *condition* is one version of a passage a listener rates. :data:`METHODS` is the one
table of the built-in ones, in display order; every part of the project reads its names,
descriptions and roles from here (the vocabulary test in ``tests/test_architecture.py``
fails on a method name spelt anywhere else):

- the hidden reference ``target`` (the engineer's mix);
- the systems under test ``console``, ``console_dsp``, ``demucs``, ``random``, ``mono``;
- the emulation table's ``tcn10``, ``tcn20``, ``tcn30``, ``input`` (its reference is
  also ``target``);
- the ITU-R BS.1534-3 anchors ``anchor_7k`` (mid) and ``anchor_3k5`` (low): the
  reference low-passed at 7 and 3.5 kHz.

Any other lowercase identifier names an imported outside system; every reader accepts
it. :func:`sort_methods` is the canonical order (test designs, whose digests depend on
it): built-in conditions in :data:`BUILT_IN_METHODS` order, then imported systems
alphabetically. :func:`display_order` is the order figures and tables show: the
reference, the systems under test (built-in, then imported ones by name), the anchors.

Adding a built-in method: one :class:`Method` row here, and its mixer and build recipe
in ``dmc/mixers/`` (``docs/render.md``, "Adding a method").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

#: The hidden reference: the target mix, rated among the conditions.
REFERENCE = "target"
#: The BS.1534-3 anchors, low then mid.
LOW_ANCHOR, MID_ANCHOR = "anchor_3k5", "anchor_7k"
ANCHORS = (LOW_ANCHOR, MID_ANCHOR)
#: The built-in systems under test, by name.
CONSOLE, CONSOLE_DSP, DEMUCS, RANDOM, MONO = "console", "console_dsp", "demucs", "random", "mono"
#: The emulation table's conditions besides the reference: the clean input and the paper's
#: TCN-10/20/30 (named as the TCN presets and checkpoints they render).
EMULATION_INPUT = "input"

#: Kinds of condition.
KIND_REFERENCE, KIND_SYSTEM, KIND_EMULATION, KIND_ANCHOR = (
    "reference",
    "system",
    "emulation",
    "anchor",
)


@dataclass(frozen=True)
class Method:
    """One built-in condition: what it is, and which parts of the project it takes part in.

    Args:
        name: as manifests, ratings and figures write it.
        kind: ``reference``, ``system`` (under test), ``emulation`` or ``anchor``.
        description: one line for people (the companion page, reports).
        baseline: a system the others are measured against (mono, random, demucs).
        held_out: mixed by ``python -m dmc.train evaluate`` on held-out songs.
        simulated: task -> the mean rating (0-1) simulated panels give it
            (``analysis.simulate``); a task it is missing from gets no such condition.
    """

    name: str
    kind: str
    description: str
    baseline: bool = False
    held_out: bool = False
    simulated: Mapping[str, float] = field(default_factory=dict)


#: Every built-in condition, in display order: reference, systems, emulation, anchors (mid, low).
METHODS: tuple[Method, ...] = (
    Method(
        REFERENCE,
        KIND_REFERENCE,
        "the reference: the engineer's mix of the multitracks",
        simulated={"drums": 0.92, "full": 0.92},
    ),
    Method(
        CONSOLE,
        KIND_SYSTEM,
        "the differentiable mixing console (Steinmetz et al. 2021)",
        held_out=True,
        simulated={"drums": 0.72, "full": 0.62},
    ),
    Method(
        CONSOLE_DSP,
        KIND_SYSTEM,
        "the mixing console trained on an exact, differentiable copy of the real effects",
        held_out=True,
    ),
    Method(
        DEMUCS,
        KIND_SYSTEM,
        "the Demucs baseline adapted to mixing",
        baseline=True,
        simulated={"drums": 0.62},
    ),
    Method(
        RANDOM,
        KIND_SYSTEM,
        "random gains, pans and channel-strip settings from the console's ranges",
        baseline=True,
        held_out=True,
        simulated={"drums": 0.42, "full": 0.35},
    ),
    Method(
        MONO,
        KIND_SYSTEM,
        "every track at unity gain, centred",
        baseline=True,
        held_out=True,
        simulated={"drums": 0.38, "full": 0.4},
    ),
    *(
        Method(f"tcn{depth}", KIND_EMULATION, f"the TCN-{depth} emulation of the effects chain")
        for depth in (10, 20, 30)
    ),
    Method(EMULATION_INPUT, KIND_EMULATION, "the clean input passage"),
    Method(
        MID_ANCHOR,
        KIND_ANCHOR,
        "anchor: the reference low-passed at 7 kHz (ITU-R BS.1534-3)",
        simulated={"drums": 0.48, "full": 0.48},
    ),
    Method(
        LOW_ANCHOR,
        KIND_ANCHOR,
        "anchor: the reference low-passed at 3.5 kHz (ITU-R BS.1534-3)",
        simulated={"drums": 0.2, "full": 0.2},
    ),
)
_BY_NAME = {method.name: method for method in METHODS}

#: The mixing systems built into the project, in display order.
SYSTEMS = tuple(m.name for m in METHODS if m.kind == KIND_SYSTEM)
#: The emulation table's conditions besides the reference (the paper's TCN-10/20/30, the input).
EMULATION_METHODS = tuple(m.name for m in METHODS if m.kind == KIND_EMULATION)
#: Every built-in condition, in display order.
BUILT_IN_METHODS = tuple(_BY_NAME)


def method(name: str) -> Method:
    """The built-in condition ``name``; raises KeyError naming the known ones."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(
            f"{name!r} is no built-in condition; built-in: {', '.join(BUILT_IN_METHODS)}"
        ) from None


def held_out_methods() -> list[str]:
    """The methods ``python -m dmc.train evaluate`` mixes held-out songs with, in display order."""
    return [m.name for m in METHODS if m.held_out]


def simulated_quality() -> dict[str, dict[str, float]]:
    """Task -> method -> mean rating of the conditions a simulated panel presents."""
    tasks = dict.fromkeys(task for m in METHODS for task in m.simulated)
    return {
        task: {m.name: m.simulated[task] for m in METHODS if task in m.simulated} for task in tasks
    }


_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,31}")


def is_anchor(method: str) -> bool:
    return method in ANCHORS


def is_reference_or_anchor(method: str) -> bool:
    """Made from the target itself (not a system under test)."""
    return method == REFERENCE or method in ANCHORS


def sort_methods(methods: Iterable[str]) -> list[str]:
    """The display order: built-in conditions first (:data:`BUILT_IN_METHODS`), then others by name.

    Duplicates are dropped.
    """
    unique = set(methods)
    built_in = [m for m in BUILT_IN_METHODS if m in unique]
    return built_in + sorted(unique - set(BUILT_IN_METHODS))


def display_order(methods: Iterable[str]) -> list[str]:
    """The order of figures and tables: reference, systems (built-in, then imported by name), anchors.

    :func:`sort_methods` with the anchors (mid, then low) moved behind the imported
    systems, so an outside system stands among the systems it is compared with, never
    beside the low-passed anchors. Duplicates are dropped.
    """
    ordered = sort_methods(methods)
    return [m for m in ordered if not is_anchor(m)] + [m for m in ordered if is_anchor(m)]


def check_method_name(name: str, allow_built_in: bool = True) -> str:
    """``name`` if it can name a condition: a lowercase identifier of at most 32 characters.

    Args:
        allow_built_in: False for a new outside system, whose name must not clash with
            a built-in condition.

    Raises:
        ValueError: the name is not such an identifier, or clashes with a built-in one.
    """
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise ValueError(
            f"method name {name!r} must be a lowercase identifier (a-z first, then a-z, 0-9, _; "
            "at most 32 characters)"
        )
    if not allow_built_in and name in BUILT_IN_METHODS:
        raise ValueError(
            f"method name {name!r} is a built-in condition; choose another name "
            f"(built-in: {', '.join(BUILT_IN_METHODS)})"
        )
    return name
