"""Differentiable mixing console: automatic multitrack mixing with neural audio effects.

Implements Steinmetz, Pons, Pascual and Serra, "Automatic multitrack mixing with a
differentiable mixing console of neural audio effects" (ICASSP 2021, arXiv:2010.10291),
with the datasets, baselines and rendering needed to evaluate it.

Data flows dataset -> model -> rendered passages -> test design -> web app -> ratings
-> analysis; this package holds the first three steps.
"""

__version__ = "0.1.0"

#: Every model in this project runs at 44.1 kHz, like the paper's TCN.
SAMPLE_RATE = 44100
