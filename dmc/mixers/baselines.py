"""The baselines the consoles are judged against: a mono sum and a random console.

Both start from the same gain-staged tracks the console sees (``dmc.staging``), so a
listener compares mixing decisions, not input levels. The random baseline draws every
setting the console controls uniformly from the console's own ranges
(``dmc.effects.params.TASK_PARAMETERS``) and renders it through the real effects chain
(``dmc.effects.chain``): it shows what a console that ignores its input would sound
like, the lower bound the paper's listening test used.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dmc.contracts.conditions import MONO, RANDOM
from dmc.effects.chain import constant_power_pan, mix
from dmc.effects.params import TASKS, task_parameters
from dmc.mixers.base import MixResult, check_tracks
from dmc.mixers.spec import BuildRequest, MethodError, MethodSpec

#: Stages of the reference chain each task's random console uses. The drums task
#: controls gain and pan only, so its effects would stay neutral: skipping them gives
#: the same mix without running a reverb per track.
_STAGES = {"drums": ("gain", "fader"), "full": ("gain", "eq", "compressor", "reverb", "fader")}


class MonoMixer:
    """Every track at unity gain, centred: the sum an untouched console would give.

    Args:
        task: ``drums`` or ``full``; sets which parameters the returned settings list
            (all at their neutral defaults). Default ``drums`` (gain and pan).
    """

    name = MONO

    def __init__(self, task: str = "drums"):
        self.space = task_parameters(task)
        self.task = task

    def __repr__(self) -> str:
        return f"MonoMixer(task={self.task!r})"

    def mix(
        self, tracks: np.ndarray, sample_rate: int, names: Sequence[str] | None = None
    ) -> MixResult:
        """Sum ``(tracks, samples)`` and pan the sum to the centre (each side at -3 dB)."""
        tracks = check_tracks(tracks, sample_rate)
        audio = constant_power_pan(tracks.sum(axis=0), 0.5)
        params = [self.space.to_dict(self.space.defaults()) for _ in range(tracks.shape[0])]
        return MixResult(audio=audio, params=params)


class RandomMixer:
    """Settings drawn uniformly from the console's ranges, rendered by the real chain.

    Uniform in the *normalised* range, so log-mapped controls (frequencies, Q, times,
    ratio) are drawn uniformly in octaves, like the console's own output space.
    Every call to :meth:`mix` starts again from ``seed``: mixing the same tracks twice
    gives the same mix, so a renderer seeds one mixer per passage and a re-render is
    identical.

    Args:
        task: ``drums`` (gain and pan) or ``full`` (the whole channel strip).
        seed: seed of NumPy's default generator; track ``i`` gets the ``i``-th draw.
    """

    name = RANDOM

    def __init__(self, task: str, seed: int):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.space = task_parameters(task)
        self.task = task
        self.seed = int(seed)

    def __repr__(self) -> str:
        return f"RandomMixer(task={self.task!r}, seed={self.seed})"

    def draw(self, num_tracks: int) -> list[dict[str, float]]:
        """The settings :meth:`mix` uses for ``num_tracks`` tracks, in real units."""
        rng = np.random.default_rng(self.seed)
        values = self.space.denormalize(self.space.sample(rng, num_tracks).astype(np.float64))
        return [self.space.to_dict(v) for v in values]

    def mix(
        self, tracks: np.ndarray, sample_rate: int, names: Sequence[str] | None = None
    ) -> MixResult:
        tracks = check_tracks(tracks, sample_rate)
        params = self.draw(tracks.shape[0])
        audio, _ = mix(tracks, sample_rate, params, stages=_STAGES[self.task])
        return MixResult(audio=audio, params=params)


def _random(request: BuildRequest) -> RandomMixer:
    if request.seed is None:
        raise MethodError(f"method {RANDOM!r} needs a seed")
    return RandomMixer(request.task, request.seed)


METHODS = [
    MethodSpec(MONO, TASKS, "tracks", lambda request: MonoMixer(request.task)),
    MethodSpec(RANDOM, TASKS, "tracks", _random, seeded=True),
]
