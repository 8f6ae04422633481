"""The differentiable mixing console (DMC).

Steinmetz, Pons, Pascual and Serra, "Automatic multitrack mixing with a differentiable
mixing console of neural audio effects" (ICASSP 2021, arXiv:2010.10291):

    tracks -> shared encoder -> [own embedding, mean over active tracks] -> shared
    post-processor -> parameters (real units) -> shared channel strip per track
    (gain -> TCN -> fader -> pan) -> stereo sum.

The strip's effects are the paper's neural proxy (``effects="tcn"``) or an exact,
differentiable copy of the real chain (``effects="dsp"``, :mod:`dmc.dsp`); a DSP
console controls the whole strip on every task, since the exact effects cost little.

Every learnt part is shared across channels, so the console takes any number of tracks
(1, 8, 24 ...), and its parameters are permutation equivariant and its mix permutation
invariant: nothing depends on the order of the tracks. Padded batches carry a mask;
padded tracks never enter the context nor the sum.

The encoder is always frozen (eval mode). The TCN is frozen or fine-tuned
(``finetune_tcn``); its normalisation statistics stay those of pre-training either way.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from dmc import SAMPLE_RATE
from dmc.checkpoint import read_model, register_model
from dmc.effects.params import CHANNEL_STRIP, ParameterSpace, task_parameters
from dmc.nn.effects import EFFECTS, channel_strip
from dmc.nn.encoder import TrackEncoder
from dmc.nn.postprocessor import PostProcessor
from dmc.nn.tcn import TCN

#: What a track's parameters see besides its own embedding (see ``context`` below).
CONTEXTS = ("mean", "mean+related")


@register_model
class DifferentiableMixingConsole(nn.Module):
    """Predicts per-track parameters and renders the stereo mix with differentiable effects.

    Args:
        task (str): ``drums`` (gain and pan) or ``full`` (the whole channel strip).
        encoder (dict): :class:`dmc.nn.encoder.TrackEncoder` kwargs.
        tcn (dict, optional): :class:`dmc.nn.tcn.TCN` kwargs; required for ``full`` with
            ``effects="tcn"``.
        hidden_dim (int): post-processor width. Default: 256.
        dropout (float): post-processor dropout. Default: 0.2.
        finetune_tcn (bool): train the TCN with the console. Default: False.
        context (str): what each track's parameters see besides its own embedding.
            ``"mean"`` (the paper): the mean embedding of all tracks. ``"mean+related"``
            also a *related context*: the other tracks' embeddings weighted by how well
            their level envelopes correlate with this track's (a softmax with a learnt
            temperature). Same-role tracks whose embeddings are alike (overhead L and R)
            then see different contexts (the left one hears more of the hi-hat), so they
            can take different settings; the console stays permutation equivariant.
            Default: ``"mean"``.
        side_hints (bool): the post-processor also sees each track's side hint, -1 / 0 / +1
            for a name that says left / nothing / right (:func:`dmc.roles.side_from_name`),
            the one thing that tells the two microphones of a pair apart. Default: False
            (the paper's console, which sees audio only).
        sample_rate (int): the rate every track must have (Hz). Default: 44100.
        effects (str): ``"tcn"``: the paper's console, EQ, compressor and reverb heard
            through the TCN, on ``full`` only (``drums`` sets gain and pan). ``"dsp"``:
            the exact effects (:class:`dmc.nn.effects.DSPEffects`), and the whole strip
            on every task. Default: ``"tcn"``.

    Shape:
        tracks ``(batch, tracks, samples)``, mask ``(batch, tracks)`` bool, sides
        ``(batch, tracks)`` (optional; zeros when absent) -> mix ``(batch, 2, samples)``,
        params ``(batch, tracks, P)`` in real units.
    """

    def __init__(
        self,
        task: str,
        encoder: dict | None = None,
        tcn: dict | None = None,
        hidden_dim: int = 256,
        dropout: float = 0.2,
        finetune_tcn: bool = False,
        context: str = "mean",
        side_hints: bool = False,
        sample_rate: int = SAMPLE_RATE,
        effects: str = "tcn",
    ):
        super().__init__()
        if context not in CONTEXTS:
            raise ValueError(f"unknown context {context!r}; choose one of {', '.join(CONTEXTS)}")
        if effects not in EFFECTS:
            raise ValueError(f"unknown effects {effects!r}; choose one of {', '.join(EFFECTS)}")
        self.task = task
        self.context = context
        self.side_hints = side_hints
        self.effects = effects
        self.space: ParameterSpace = task_parameters(task) if effects == "tcn" else CHANNEL_STRIP
        self.sample_rate = sample_rate
        self.encoder = TrackEncoder(**(encoder or {}))
        self.encoder.requires_grad_(False)
        needs_tcn = task == "full" and effects == "tcn"
        if needs_tcn and tcn is None:
            raise ValueError("the full task needs tcn kwargs (the transformation network)")
        transformation = TCN(**tcn) if needs_tcn else None
        self.strip = channel_strip(
            task, transformation, finetune_tcn, effects=effects, sample_rate=sample_rate
        )
        if self.strip.parameter_names != self.space.names:
            raise RuntimeError(
                f"strip parameters {self.strip.parameter_names} differ from task {self.space.names}"
            )
        if context == "mean+related":
            # softmax temperature of the envelope correlations, as a log (learnt)
            self.log_relation_temperature = nn.Parameter(torch.tensor(math.log(0.1)))
        self.postprocessor = PostProcessor(
            (3 if context == "mean+related" else 2) * self.encoder.output_dim + int(side_hints),
            len(self.space),
            hidden_dim,
            dropout,
            neutral=self.space.defaults_normalized().tolist(),
        )
        self.eval()

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_pretrained(
        cls, task: str, encoder_path, tcn_path=None, **kwargs
    ) -> DifferentiableMixingConsole:
        """A fresh console holding the pre-trained encoder (and the TCN of a ``full`` TCN
        console) from their files."""
        encoder = read_model(encoder_path, TrackEncoder)
        uses_tcn = task == "full" and kwargs.get("effects", "tcn") == "tcn"
        tcn = read_model(tcn_path, TCN) if uses_tcn else None
        console = cls(
            task,
            encoder=encoder.init_kwargs,
            tcn=None if tcn is None else tcn.init_kwargs,
            **kwargs,
        )
        console.encoder.load_state_dict(encoder.state_dict())
        if tcn is not None:
            console.tcn.load_state_dict(tcn.state_dict())
        return console

    @property
    def tcn(self) -> TCN | None:
        for effect in self.strip:
            if hasattr(effect, "tcn"):
                return effect.tcn
        return None

    def train(self, mode: bool = True) -> DifferentiableMixingConsole:
        super().train(mode)
        self.encoder.eval()
        return self

    # ---------------------------------------------------------------- the three stages
    def embed(self, tracks: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Encoder embeddings ``(batch, tracks, d)``; padded tracks get zeros."""
        tracks, mask = _check(tracks, mask)
        batch, count, samples = tracks.shape
        out = tracks.new_zeros(batch, count, self.encoder.output_dim)
        active = mask.reshape(-1)
        with torch.no_grad():
            out.view(batch * count, -1)[active] = self.encoder(
                tracks.reshape(batch * count, samples)[active]
            )
        return out

    def predict(
        self,
        embeddings: torch.Tensor,
        mask: torch.Tensor | None = None,
        relations: torch.Tensor | None = None,
        sides: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Normalised parameters ``(batch, tracks, P)`` in (0, 1) from embeddings and their mask.

        ``relations`` ``(batch, tracks, tracks)`` (:func:`envelope_correlation`) is needed
        with ``context="mean+related"``; ``sides`` ``(batch, tracks)`` is read with
        ``side_hints`` (zeros when None) and ignored without.
        """
        if mask is None:
            mask = torch.ones(embeddings.shape[:2], dtype=torch.bool, device=embeddings.device)
        weights = mask.to(embeddings.dtype).unsqueeze(-1)
        context = (embeddings * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)
        parts = [embeddings, context.unsqueeze(1).expand_as(embeddings)]
        if self.context == "mean+related":
            if relations is None:
                raise ValueError("context 'mean+related' needs the tracks' envelope relations")
            parts.append(self._related(embeddings, mask, relations))
        if self.side_hints:
            if sides is None:
                sides = embeddings.new_zeros(embeddings.shape[:2])
            if sides.shape != embeddings.shape[:2]:
                raise ValueError(
                    f"sides must be (batch, tracks) {tuple(embeddings.shape[:2])}, got {tuple(sides.shape)}"
                )
            parts.append(sides.to(embeddings.dtype).unsqueeze(-1))
        return self.postprocessor(torch.cat(parts, dim=-1))

    def _related(
        self, embeddings: torch.Tensor, mask: torch.Tensor, relations: torch.Tensor
    ) -> torch.Tensor:
        count = embeddings.shape[1]
        others = mask.unsqueeze(1) & ~torch.eye(count, dtype=torch.bool, device=mask.device)
        logits = relations / self.log_relation_temperature.exp()
        logits = logits.masked_fill(~others, float("-inf"))
        alone = ~others.any(dim=-1, keepdim=True)  # a single track has no others
        weights = torch.softmax(logits.masked_fill(alone, 0.0), dim=-1).masked_fill(alone, 0.0)
        return weights @ embeddings

    def relations(
        self, tracks: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor | None:
        """The envelope correlations the context needs, or None with the paper's mean context."""
        if self.context != "mean+related":
            return None
        return envelope_correlation(tracks, mask)

    def render(
        self, tracks: torch.Tensor, params: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Stereo mix ``(batch, 2, samples)`` of ``tracks`` with real-unit ``params`` ``(batch, tracks, P)``."""
        tracks, mask = _check(tracks, mask)
        batch, count, samples = tracks.shape
        active = mask.reshape(-1)
        rows = torch.arange(batch, device=tracks.device).repeat_interleave(count)[active]
        channels = self.strip(
            tracks.reshape(batch * count, 1, samples)[active],
            params.reshape(batch * count, -1)[active],
        )
        mix = channels.new_zeros(batch, 2, samples)
        return mix.index_add(0, rows, channels)

    def forward(
        self,
        tracks: torch.Tensor,
        mask: torch.Tensor | None = None,
        sides: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        tracks, mask = _check(tracks, mask)
        relations = self.relations(tracks, mask)
        embeddings = self.embed(tracks, mask)
        params = self.space.denormalize(self.predict(embeddings, mask, relations, sides))
        return self.render(tracks, params, mask), params


@torch.no_grad()
def envelope_correlation(
    tracks: torch.Tensor, mask: torch.Tensor | None = None, frame_samples: int = 2048
) -> torch.Tensor:
    """Pearson correlation of the tracks' log-energy envelopes, ``(batch, T, S)`` -> ``(batch, T, T)``.

    Frames of ``frame_samples``; silent or padded tracks correlate 0 with everything.
    How much of one track's rhythm another holds: an overhead correlates more with the
    drum nearest to it.
    """
    tracks, mask = _check(tracks, mask)
    batch, count, samples = tracks.shape
    frames = max(1, samples // frame_samples)
    used = tracks[..., : frames * frame_samples] if samples >= frame_samples else tracks
    energy = used.reshape(batch, count, frames, -1).double().square().mean(dim=-1)
    envelope = torch.log10(energy + 1e-10)
    envelope = envelope - envelope.mean(dim=-1, keepdim=True)
    norm = envelope.norm(dim=-1, keepdim=True)
    unit = torch.where(norm > 1e-6, envelope / norm.clamp_min(1e-12), torch.zeros_like(envelope))
    unit = unit * mask.unsqueeze(-1)
    return (unit @ unit.transpose(1, 2)).to(tracks.dtype)


def _check(tracks: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    if tracks.dim() != 3:
        raise ValueError(f"tracks must be (batch, tracks, samples), got {tuple(tracks.shape)}")
    if mask is None:
        mask = torch.ones(tracks.shape[:2], dtype=torch.bool, device=tracks.device)
    if mask.shape != tracks.shape[:2]:
        raise ValueError(
            f"mask {tuple(mask.shape)} does not match tracks {tuple(tracks.shape[:2])}"
        )
    return tracks, mask.bool()
