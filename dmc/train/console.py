"""``python -m dmc.train console --task drums|full``: train the mixing console on multitracks.

The console starts from the pre-trained encoder (frozen) and, for ``full``, the
pre-trained TCN (frozen unless ``--finetune-tcn``), or with ``--effects dsp`` the exact
effects of ``dmc.dsp`` (no proxy, the whole strip on every task); only the
post-processor learns to set parameters, from the stereo sum/difference MR-STFT
distance between its mix and the target mix. Validation logs two reference lines computed on the same segments:
the mono mix (equal gains, centred) and random parameters (real effects chain).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch

from dmc import SAMPLE_RATE
from dmc.cli import note
from dmc.console import CONTEXTS, DifferentiableMixingConsole
from dmc.effects.chain import mix as chain_mix
from dmc.effects.params import TASKS, expand_to_strip, task_parameters
from dmc.losses import ConsoleLoss, ReferencePanLoss
from dmc.nn.effects import EFFECTS
from dmc.pretrained import CHECKPOINT_DIR, load_model
from dmc.train import cli
from dmc.train.data import (
    VAL_SEED_OFFSET,
    ConsoleSegments,
    batch_indices,
    collate_tracks,
    fixed_items,
)
from dmc.train.loop import TrainingError

VAL_BATCH = 4
#: How close to a range's edge a widened console's new outputs start (see _load_weights).
WIDEN_MARGIN = 1e-4


class ConsoleRecipe:
    """Training recipe of the console (see :mod:`dmc.train.loop`)."""

    name = "console"

    def __init__(
        self,
        console: DifferentiableMixingConsole,
        train_songs,
        val_songs,
        segment_samples: int,
        batch_size: int,
        val_items: int = 24,
        seed: int = 0,
        config: dict | None = None,
        tcn_warmup_steps: int = 0,
        w_stereo: float = 0.0,
        w_balance: float = 0.0,
        w_pan: float = 0.0,
        progress: bool = True,
        side_dropout: float = 0.0,
        drum_bus: float = 0.0,
        free_kit_view: bool = False,
        follow_drums: float = 0.0,
    ):
        if w_pan < 0:
            raise ValueError(f"w_pan must be non-negative, got {w_pan}")
        if free_kit_view and not w_pan:
            raise ValueError("free_kit_view changes the pan term, which w_pan = 0 leaves out")
        self.model = console
        self.tcn_warmup_steps = tcn_warmup_steps
        self.task = console.task
        self.w_pan = w_pan
        self.free_kit_view = free_kit_view
        # The per-song pan estimate costs about 0.5 s a song, so it is made only when used.
        # Validation shows drum buses as often as training does, so the best checkpoint is
        # the best on both kinds of session.
        shared = {
            "reference_pans": w_pan > 0,
            "progress": progress,
            "drum_bus": drum_bus,
            "follow_drums": follow_drums,
        }
        self.train_data = ConsoleSegments(
            train_songs, segment_samples, seed=seed, side_dropout=side_dropout, **shared
        )
        self.val_items = fixed_items(
            ConsoleSegments(val_songs, segment_samples, seed=seed + VAL_SEED_OFFSET, **shared),
            val_items,
        )
        self.batch_size = batch_size
        self.objective = ConsoleLoss(w_stereo, w_balance)
        self.pan_loss = ReferencePanLoss()
        self.pan_index = console.space.names.index("pan")
        # Validation ranks checkpoints by the whole objective, and reports every term on
        # its own so that runs with different objectives can be compared.
        self.criterion = self.objective
        self.seed = seed
        self.config = config or {"model": console.init_kwargs}

    def _set_bypass(self, bypass: bool) -> None:
        for effect in self.model.strip:
            if hasattr(effect, "tcn"):
                effect.bypass = bypass

    def before_step(self, step: int) -> None:
        """Curriculum for ``full``: the first ``tcn_warmup_steps`` steps skip the TCN (much cheaper), so
        gains, faders and pans are learnt first; the effect parameters learn once the TCN is switched on."""
        self._set_bypass(step < self.tcn_warmup_steps)

    def batch(self, step, rank, world_size):
        return collate_tracks(
            [self.train_data[i] for i in batch_indices(step, rank, world_size, self.batch_size)]
        )

    def _pan_term(self, params: torch.Tensor, batch) -> torch.Tensor:
        """The reference-pan term of parameters ``(batch, tracks, P)`` (real units)."""
        return self.pan_loss(
            params[..., self.pan_index],
            batch["reference_pan"].to(params.device),
            batch["pan_share"].to(params.device),
            batch["kit"].to(params.device) if self.free_kit_view else None,
        )

    def loss(self, model, batch):
        mix, params = model(batch["tracks"], batch["mask"], batch.get("side"))
        loss = self.objective(mix, batch["target"])
        if self.w_pan:
            loss = loss + self.w_pan * self._pan_term(params, batch)
        return loss, {}

    def _val_batches(self):
        for first in range(0, len(self.val_items), VAL_BATCH):
            yield collate_tracks(self.val_items[first : first + VAL_BATCH])

    def _mean_loss(self, mixes, device, criterion=None) -> float:
        criterion = criterion or self.criterion
        losses = [
            float(criterion(mix.to(device), batch["target"].to(device)))
            for mix, batch in zip(mixes, self._val_batches())
        ]
        return sum(losses) / len(losses)

    @torch.no_grad()
    def validate(self, model, device):
        model.eval()
        self._set_bypass(False)  # always judge the console that ships
        outputs = [
            model(b["tracks"].to(device), b["mask"].to(device), b["side"].to(device))
            for b in self._val_batches()
        ]
        mixes = [mix for mix, _ in outputs]
        metrics = {
            "val_loss": self._mean_loss(mixes, device),
            "val_sum_difference": self._mean_loss(mixes, device, self.objective.sum_difference),
            "val_balance": self._mean_loss(mixes, device, self.objective.balance),
            "val_stereo": self._mean_loss(mixes, device, self.objective.stereo),
        }
        if self.w_pan:
            pan = [
                float(self._pan_term(params, batch))
                for (_, params), batch in zip(outputs, self._val_batches())
            ]
            metrics["val_pan"] = sum(pan) / len(pan)
            metrics["val_loss"] += self.w_pan * metrics["val_pan"]
        return metrics

    @torch.no_grad()
    def references(self, device):
        mono = [
            (b["tracks"] * b["mask"][..., None]).sum(dim=1, keepdim=True).expand(-1, 2, -1)
            * np.sqrt(0.5)
            for b in self._val_batches()
        ]
        return {
            "mono mix": self._mean_loss(mono, device),
            "random parameters": self._mean_loss(self._random(), device),
        }

    def _random(self):
        """Random parameters of the task (uniform in the normalised ranges) through the real chain."""
        space = task_parameters(self.task)
        rng = np.random.default_rng([self.seed, 104729])
        for batch in self._val_batches():
            mixes = []
            for tracks, mask in zip(batch["tracks"].numpy(), batch["mask"].numpy()):
                active = tracks[mask]
                params = expand_to_strip(
                    space.denormalize(space.sample(rng, len(active)).astype(np.float64)), space
                )
                mixes.append(torch.from_numpy(chain_mix(active, SAMPLE_RATE, list(params))[0]))
            yield torch.stack(mixes)

    def exported(self, model):
        return model


def _load_weights(
    console: DifferentiableMixingConsole, trained, path: Path, keep_tcn: bool
) -> None:
    """Copy the weights of ``trained`` (read from ``path``) into ``console`` (a clear error if
    they do not fit).

    A console without side hints can seed one with them (``--side-hints``): the
    post-processor's new input starts with zero weights. A console that controls fewer
    parameters (a TCN drums console: gain and pan) can seed one that controls more (a DSP
    console: the whole strip): the parameters both have keep their trained outputs, the
    others start at the new console's neutral initialisation. With ``keep_tcn`` the
    transformation network stays the one ``console`` was built with (``--tcn``): a
    console trained on one TCN can continue on a better one; a DSP console has none, so
    a TCN console's network is left out.
    """
    if getattr(trained, "task", None) != console.task:
        raise TrainingError(f"--init {path}: not a {console.task} console")
    state = trained.state_dict()
    own = console.state_dict()
    if console.side_hints and not getattr(trained, "side_hints", False):
        # the hint is a new last input of the post-processor: a zero column there makes
        # the widened console start exactly where the trained one was
        first = "postprocessor.net.0.weight"
        weight = state[first]
        state[first] = torch.cat([weight, weight.new_zeros(weight.shape[0], 1)], dim=1)
    trained_names = trained.space.names
    if trained_names != console.space.names:
        missing = set(trained_names) - set(console.space.names)
        if missing:
            raise TrainingError(
                f"--init {path}: it sets {', '.join(sorted(missing))}, which this console lacks"
            )
        rows = [console.space.names.index(name) for name in trained_names]
        last = len(console.postprocessor.net) - 1
        weight, bias = f"postprocessor.net.{last}.weight", f"postprocessor.net.{last}.bias"
        # the new outputs start at their neutral settings to 1e-4 of their ranges (a wet
        # level of 1e-4, a ratio of 1.0002), so the widened console starts where it was
        neutral = torch.tensor(console.space.defaults_normalized()).clamp(
            WIDEN_MARGIN, 1 - WIDEN_MARGIN
        )
        new_weight = torch.zeros_like(own[weight])
        new_bias = torch.log(neutral / (1 - neutral)).to(own[bias].dtype)
        new_weight[rows], new_bias[rows] = state[weight], state[bias]
        state[weight], state[bias] = new_weight, new_bias
    if console.tcn is None:
        state = {k: v for k, v in state.items() if ".tcn." not in k}
    elif keep_tcn:
        state = {k: own[k] if ".tcn." in k else v for k, v in state.items()}
    try:
        console.load_state_dict(state)
    except RuntimeError as exc:
        raise TrainingError(f"--init {path}: weights do not fit this console ({exc})") from None


def start_threshold(console: DifferentiableMixingConsole, threshold_db: float) -> None:
    """Make the post-processor start every track's compressor threshold at ``threshold_db``
    (its output row for the threshold: zero weights, the bias of that setting)."""
    if "comp_threshold_db" not in console.space.names:
        raise TrainingError("--threshold-start-db: this console sets no compressor")
    parameter = console.space["comp_threshold_db"]
    if not parameter.minimum < threshold_db < parameter.maximum:
        raise TrainingError(
            f"--threshold-start-db must lie inside ({parameter.minimum:g}, "
            f"{parameter.maximum:g}) dB, got {threshold_db:g}"
        )
    row = console.space.names.index("comp_threshold_db")
    value = float(parameter.normalize(threshold_db))
    last = console.postprocessor.net[-1]
    with torch.no_grad():
        last.weight[row] = 0.0
        last.bias[row] = math.log(value / (1.0 - value))


def get_parser() -> argparse.ArgumentParser:
    parser = cli.recipe_parser("console", __doc__)
    parser.add_argument(
        "--task", required=True, choices=TASKS, help="drums (gain, pan) or full (whole strip)"
    )
    model = parser.add_argument_group("model")
    model.add_argument(
        "--effects",
        default=None,
        choices=EFFECTS,
        help="tcn: the paper's neural proxy of EQ, compressor and reverb (full task only); "
        "dsp: the exact effects (dmc.dsp), fast, and the whole strip on every task "
        "(default tcn; with --init, the checkpoint's)",
    )
    model.add_argument(
        "--encoder",
        type=Path,
        default=CHECKPOINT_DIR / "encoder.pt",
        help="pre-trained encoder (default the shipped dmc/checkpoints/encoder.pt)",
    )
    model.add_argument(
        "--tcn",
        type=Path,
        default=CHECKPOINT_DIR / "tcn10.pt",
        help="pre-trained TCN for --task full (default dmc/checkpoints/tcn10.pt)",
    )
    model.add_argument("--finetune-tcn", action="store_true", help="train the TCN with the console")
    model.add_argument(
        "--hidden-dim",
        type=int,
        default=None,
        help="post-processor width (default 256; with --init, the checkpoint's)",
    )
    model.add_argument(
        "--dropout", type=float, default=0.2, help="post-processor dropout (default 0.2)"
    )
    model.add_argument(
        "--context",
        default=None,
        choices=CONTEXTS,
        help="mean: the paper's mean of all tracks; mean+related: also the other tracks weighted "
        "by envelope correlation, so same-role tracks can differ (default mean; with --init, "
        "the checkpoint's)",
    )
    model.add_argument(
        "--side-hints",
        action="store_true",
        default=None,
        help="the post-processor also sees each track's side from its name (overhead_L / "
        "OH R: -1 / +1), so a microphone pair can be panned apart (default off, the paper's "
        "audio-only console; with --init, the checkpoint's)",
    )
    model.add_argument(
        "--side-dropout",
        type=float,
        default=0.0,
        help="with --side-hints: probability that a training item's hints are all dropped, "
        "so the console also mixes pairs whose names say no side (default 0)",
    )
    parser.add_argument(
        "--drum-bus",
        type=float,
        default=0.0,
        help="probability that a training (and validation) item shows the song's drum "
        "microphones summed into one mono bus, as many sessions arrive (default 0)",
    )
    cli.add_data_arguments(parser)
    cli.add_loop_arguments(
        parser, steps=1000, lr=1e-3, batch_size=4, segment_seconds=2.0, val_every=50
    )
    parser.add_argument(
        "--val-items", type=int, default=24, help="validation segments (default 24)"
    )
    parser.add_argument(
        "--w-stereo",
        type=float,
        default=0.0,
        help="weight of the swap-invariant left/right STFT term added to the sum/difference "
        "loss; 0 is the paper's objective (default 0)",
    )
    parser.add_argument(
        "--w-balance",
        type=float,
        default=0.0,
        help="weight of the mirror-invariant per-band left/right balance term "
        "(dmc.losses.StereoBalanceLoss); 0 is the paper's objective (default 0)",
    )
    parser.add_argument(
        "--w-pan",
        type=float,
        default=0.0,
        help="weight of the per-track pan term: each track's pan against where the target "
        "mix put it, estimated from the tracks and the mix (dmc.losses.ReferencePanLoss, "
        "mirror-invariant); 0 is the paper's objective (default 0)",
    )
    parser.add_argument(
        "--follow-drums",
        type=float,
        default=0.0,
        help="probability that one accompaniment track of an item rides the kit's envelope, "
        "as strummed parts do, with the target changed to match (training and validation; "
        "default 0)",
    )
    parser.add_argument(
        "--free-kit-view",
        action="store_true",
        help="in the pan term, the drum kit may take the other view (drummer's or audience's) "
        "than the rest of the mix, as the any-view metrics allow; needs --w-pan",
    )
    parser.add_argument(
        "--init",
        type=Path,
        default=None,
        help="start from this console checkpoint's weights (same task), e.g. to fine-tune; "
        "for full, the TCN stays the one of --tcn (with --finetune-tcn: the checkpoint's)",
    )
    parser.add_argument(
        "--threshold-start-db",
        type=float,
        default=None,
        help="start every track's compressor threshold at this level (dBFS), e.g. -24: a "
        "hard-knee compressor whose threshold sits above the signal passes no gradient to "
        "its threshold or ratio, so one that starts there never learns to compress "
        "(default: the console's own or neutral start, 0 dB)",
    )
    parser.add_argument(
        "--tcn-warmup-steps",
        type=int,
        default=0,
        help="full task: first N steps skip the TCN (cheap level/pan learning) (default 0)",
    )
    return parser


def _check_options(args: argparse.Namespace) -> None:
    for flag in ("w_stereo", "w_balance", "w_pan"):
        if getattr(args, flag) < 0:
            raise TrainingError(
                f"--{flag.replace('_', '-')} must be 0 or more, got {getattr(args, flag)}"
            )
    for flag in ("side_dropout", "drum_bus", "follow_drums"):
        if not 0.0 <= getattr(args, flag) <= 1.0:
            raise TrainingError(
                f"--{flag.replace('_', '-')} must be between 0 and 1, got {getattr(args, flag)}"
            )
    if args.free_kit_view and not args.w_pan:
        raise TrainingError("--free-kit-view changes the pan term: give it a weight with --w-pan")


def main(argv: list[str] | None = None) -> dict:
    args = get_parser().parse_args(argv)
    _check_options(args)
    loop = cli.loop_config(args, f"console-{args.task}")
    segment = cli.segment_samples(args.segment_seconds)
    trained = load_model(args.init) if args.init is not None else None
    # a fine-tuned console keeps the architecture it was trained with, unless told otherwise
    built_with = getattr(trained, "init_kwargs", {})
    if args.context is None:
        args.context = built_with.get("context", "mean")
    if args.hidden_dim is None:
        args.hidden_dim = built_with.get("hidden_dim", 256)
    if args.side_hints is None:
        args.side_hints = built_with.get("side_hints", False)
    if args.effects is None:
        args.effects = built_with.get("effects", "tcn")
    uses_tcn = args.task == "full" and args.effects == "tcn"
    # Said every time: a console trained on someone else's encoder is an easy surprise.
    note(
        "python -m dmc.train console",
        f"building on the encoder {args.encoder}"
        + (f" and the TCN {args.tcn}" if uses_tcn else "")
        + (" with the exact effects (--effects dsp)" if args.effects == "dsp" else "")
        + " (choose others with --encoder/--tcn)",
    )
    torch.manual_seed(args.seed)
    console = DifferentiableMixingConsole.from_pretrained(
        args.task,
        args.encoder,
        args.tcn if uses_tcn else None,
        hidden_dim=args.hidden_dim,
        dropout=args.dropout,
        finetune_tcn=args.finetune_tcn,
        context=args.context,
        side_hints=args.side_hints,
        effects=args.effects,
    )
    if args.init is not None:
        _load_weights(console, trained, args.init, keep_tcn=not args.finetune_tcn)
    if args.threshold_start_db is not None:
        start_threshold(console, args.threshold_start_db)
    train_songs, val_songs = cli.train_and_val_songs(args, [args.task])
    settings = {
        "task": args.task,
        "encoder": str(args.encoder),
        "tcn": str(args.tcn) if uses_tcn else None,
        "tcn_warmup_steps": args.tcn_warmup_steps,
        "w_stereo": args.w_stereo,
        "init": str(args.init) if args.init else None,
    }
    if args.w_balance:  # absent from earlier runs' configs, so they still resume
        settings["w_balance"] = args.w_balance
    if args.w_pan:
        settings["w_pan"] = args.w_pan
    if args.side_dropout:
        settings["side_dropout"] = args.side_dropout
    if args.drum_bus:
        settings["drum_bus"] = args.drum_bus
    if args.free_kit_view:
        settings["free_kit_view"] = True
    if args.follow_drums:
        settings["follow_drums"] = args.follow_drums
    if args.threshold_start_db is not None:
        settings["threshold_start_db"] = args.threshold_start_db
    config = cli.run_config(
        "console", args, argv, console.init_kwargs, segment, train_songs, val_songs, **settings
    )
    recipe = ConsoleRecipe(
        console,
        train_songs,
        val_songs,
        segment,
        args.batch_size,
        args.val_items,
        args.seed,
        config,
        tcn_warmup_steps=args.tcn_warmup_steps,
        w_stereo=args.w_stereo,
        w_balance=args.w_balance,
        w_pan=args.w_pan,
        progress=args.progress,
        side_dropout=args.side_dropout,
        drum_bus=args.drum_bus,
        free_kit_view=args.free_kit_view,
        follow_drums=args.follow_drums,
    )
    record = cli.train_and_export(recipe, loop, args.export)
    return record


if __name__ == "__main__":
    main()
