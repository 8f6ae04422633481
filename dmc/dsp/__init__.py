"""An exact, differentiable copy of the reference channel strip (:mod:`dmc.effects.chain`).

The paper's console hears its effects through a neural proxy (the TCN). This package
computes what pedalboard's EQ, compressor and reverb compute, in PyTorch, with exact
gradients for every setting, so a console can train on the real effects and its
parameters render identically through pedalboard:

- :mod:`dmc.dsp.eq`: cookbook biquads (low shelf, three peaks, high shelf) as one
  frequency response;
- :mod:`dmc.dsp.compressor`: the peak detector's switched ballistics and hard-knee law,
  with a compiled recursion and its adjoint;
- :mod:`dmc.dsp.reverb`: Freeverb's combs and all-passes in closed form;
- :mod:`dmc.dsp.spectral`: the FFT filtering the linear stages share.

:class:`dmc.nn.effects.DSPEffects` chains them as the console's ``effects="dsp"``.
"""

from dmc.dsp import compressor, eq, reverb
from dmc.dsp.strip import mix, process

__all__ = ["compressor", "eq", "mix", "process", "reverb"]
