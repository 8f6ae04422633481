"""``torch.compile`` where it helps, plain PyTorch where it is unavailable.

The TCN's per-block element-wise work (normalisation, FiLM, PReLU, residual) is a
handful of passes over memory in eager PyTorch; compiled, it becomes one fused loop
forward and one backward, which halves a training step on two cores. Compiling needs
a C++ compiler and takes seconds per new graph, so it is lazy (first call), can be
switched off with ``DMC_COMPILE=0``, and any failure falls back to the eager function
for the rest of the process, logged once.
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from collections.abc import Callable

import torch

log = logging.getLogger(__name__)


def compile_enabled() -> bool:
    """``DMC_COMPILE`` unset or not ``0``/``false``/``no``/``off``."""
    return os.environ.get("DMC_COMPILE", "1").strip().lower() not in {"0", "false", "no", "off"}


def maybe_compile(fn: Callable) -> Callable:
    """``fn`` compiled with dynamic shapes on first use, or ``fn`` itself as the fallback."""
    state: dict[str, Callable | None] = {"compiled": None, "failed": None}

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not compile_enabled() or state["failed"]:
            return fn(*args, **kwargs)
        try:
            # The compiler's own import and tracing warn about its internals (deprecated
            # jit paths, non-leaf .grad); those are not the caller's business, and under
            # warnings-as-errors they would abort compilation.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                warnings.simplefilter("ignore", DeprecationWarning)
                if state["compiled"] is None:
                    state["compiled"] = torch.compile(fn, dynamic=True)
                return state["compiled"](*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - any compiler failure means "run eagerly"
            state["failed"] = True
            log.warning(
                "torch.compile unavailable for %s (%s); running eagerly", fn.__name__, error
            )
            return fn(*args, **kwargs)

    wrapper.eager = fn  # type: ignore[attr-defined]
    return wrapper
