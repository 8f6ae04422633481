"""Condition names: the methods a passage is rendered with, as manifests, ratings and plots name them.

A *condition* is one version of a passage a listener rates. Built-in ones:

- the hidden reference ``target`` (the engineer's mix);
- the systems ``console``, ``demucs``, ``random``, ``mono``;
- the emulation table's ``input``, ``tcn10``, ``tcn20``, ``tcn30`` (its reference is also ``target``);
- the ITU-R BS.1534-3 anchors ``anchor_7k`` (mid) and ``anchor_3k5`` (low): the
  reference low-passed at 7 and 3.5 kHz.

Any other lowercase identifier names an imported outside system; every reader accepts
it. :func:`sort_methods` is the canonical order (test designs, whose digests depend on
it): built-in conditions in :data:`BUILT_IN_METHODS` order, then imported systems
alphabetically. :func:`display_order` is the order figures and tables show: the
reference, the systems under test (built-in, then imported ones by name), the anchors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: The hidden reference: the target mix, rated among the conditions.
REFERENCE = "target"
#: The BS.1534-3 anchors, low then mid.
LOW_ANCHOR, MID_ANCHOR = "anchor_3k5", "anchor_7k"
ANCHORS = (LOW_ANCHOR, MID_ANCHOR)
#: The mixing systems built into the project.
SYSTEMS = ("console", "demucs", "random", "mono")
#: The emulation table's conditions besides the reference (the paper's TCN-10/20/30).
EMULATION_METHODS = ("tcn10", "tcn20", "tcn30", "input")
#: Every built-in condition, in display order: reference, systems, emulation, anchors (mid, low).
BUILT_IN_METHODS = (REFERENCE, *SYSTEMS, *EMULATION_METHODS, MID_ANCHOR, LOW_ANCHOR)

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
