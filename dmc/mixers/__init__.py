"""Every mixing method: the Mixer contract, one module per method family, and the registry.

- :mod:`dmc.mixers.base`: :class:`Mixer` (staged tracks in, :class:`MixResult` out);
- :mod:`dmc.mixers.console`: the trained consoles (``console``, ``console_dsp``);
- :mod:`dmc.mixers.baselines`: ``mono`` and ``random``;
- :mod:`dmc.mixers.demucs`: the Demucs adaptation (drums);
- :mod:`dmc.mixers.references`: ``target`` and the BS.1534-3 anchors, made from the target;
- :mod:`dmc.mixers.registry`: name -> how to build it (what the renderer and
  ``python -m dmc.train evaluate`` use).
"""

from dmc.mixers.base import Mixer, MixResult
from dmc.mixers.registry import REGISTRY, build_method, get_method, method_names, resolve_methods
from dmc.mixers.spec import MethodError, MethodSpec

__all__ = [
    "REGISTRY",
    "MethodError",
    "MethodSpec",
    "MixResult",
    "Mixer",
    "build_method",
    "get_method",
    "method_names",
    "resolve_methods",
]
