"""One generic, resumable training loop, shared by every model of the project.

A subcommand describes *what* to train as a :class:`Recipe` (model, batches, loss,
validation, reference losses); :func:`train` does the rest the same way for all of them:
device choice, optional mixed precision, gradient clipping, tqdm progress, periodic
validation, loss curves (CSV + PNG), atomic resumable state, self-describing exported
models and a JSON record of the run.

Reproducibility: before every step the RNG is reseeded from ``(seed, step)`` and the
recipe builds the batch from ``(step, rank)`` alone, so a resumed run continues exactly
as an uninterrupted one would.

Scaling: started under ``torchrun`` (``WORLD_SIZE`` > 1), the loop joins the process
group (``nccl`` on GPUs, ``gloo`` on CPUs), wraps the model in
DistributedDataParallel and gives every rank its own batches; rank 0 validates, saves
and draws the progress bar.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import torch
from torch import nn
from tqdm import tqdm

from dmc.checkpoint import load_training_state, save_model, save_training_state, serialize_model
from dmc.train import history

STATE_FILE = "state.pt"


class TrainingError(ValueError):
    """A run cannot start or resume as asked; the message says why."""


@dataclass
class LoopConfig:
    """How to train (the same for every model).

    Args:
        run_dir: folder for state, curves, exported models and the record.
        steps: optimiser steps in total (a resumed run continues up to this).
        lr: Adam learning rate (the peak, with a schedule).
        lr_schedule: ``constant``, or ``cosine``: a linear warm-up over ``warmup_steps``,
            then a half cosine down to a tenth of ``lr`` at ``steps``. A pure function of
            the step, so a resumed run follows the same curve.
        warmup_steps: steps of linear warm-up for ``cosine``.
        grad_clip: clip the global gradient norm to this; None disables.
        val_every: validate every this many steps (and at the end).
        save_every: write the resumable state every this many steps (and at the end).
        device: ``cpu``, ``cuda`` or ``cuda:N``; None picks cuda if available.
        amp: mixed precision (float16 + loss scaling on CUDA, bfloat16 on CPU).
        seed: base seed of data, initialisation and dropout.
        max_minutes: stop cleanly (validate, save, export) after this much wall time.
        progress: draw a tqdm bar on rank 0.
        resume: continue from ``run_dir/state.pt`` when it exists.
    """

    run_dir: Path
    steps: int = 1000
    lr: float = 1e-3
    lr_schedule: str = "constant"
    warmup_steps: int = 0
    grad_clip: float | None = 1.0
    val_every: int = 100
    save_every: int = 50
    device: str | None = None
    amp: bool = False
    seed: int = 0
    max_minutes: float | None = None
    progress: bool = True
    resume: bool = True


LR_SCHEDULES = ("constant", "cosine")


def learning_rate(cfg: LoopConfig, step: int) -> float:
    """The learning rate of optimiser step ``step`` (0-based) under ``cfg``'s schedule."""
    if cfg.lr_schedule == "constant":
        return cfg.lr
    if cfg.lr_schedule != "cosine":
        raise TrainingError(f"unknown lr schedule {cfg.lr_schedule!r}; choose {LR_SCHEDULES}")
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))))


class Recipe(Protocol):
    """What a subcommand supplies to :func:`train`."""

    name: str
    model: nn.Module
    config: dict

    def batch(self, step: int, rank: int, world_size: int) -> dict[str, torch.Tensor]:
        """The batch of ``rank`` at ``step`` (CPU tensors; a pure function of its arguments)."""

    def loss(
        self, model: nn.Module, batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Scalar loss and extra metrics; ``model`` may be DDP-wrapped, so call it, not its methods."""

    def validate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """Validation metrics; must hold ``val_loss``."""

    def references(self, device: torch.device) -> dict[str, float]:
        """Constant validation losses of simple baselines (drawn as lines); may be empty."""

    def exported(self, model: nn.Module) -> nn.Module:
        """The registered model to save from the (unwrapped) training module."""

    # Optional: ``before_step(step)`` is called before each step when a recipe defines it
    # (e.g. a curriculum that switches part of the model on after some steps).


def _distributed(device: str | None) -> tuple[int, int, torch.device, bool]:
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    wanted = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if wanted.startswith("cuda") and not torch.cuda.is_available():
        raise TrainingError("--device cuda was asked for but no CUDA device is available")
    if wanted not in ("cpu",) and not wanted.startswith("cuda"):
        raise TrainingError(f"unknown device {wanted!r}; use cpu, cuda or cuda:N")
    if wanted.startswith("cuda"):
        dev = torch.device(
            "cuda", local_rank if world_size > 1 else (torch.device(wanted).index or 0)
        )
        torch.cuda.set_device(dev)
    else:
        dev = torch.device("cpu")
    started = False
    if world_size > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if dev.type == "cuda" else "gloo")
        started = True
    return rank, world_size, dev, started


def _mean_across(value: float, world_size: int, device: torch.device) -> float:
    if world_size == 1:
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    torch.distributed.all_reduce(tensor)
    return float(tensor) / world_size


def _any_rank(flag: bool, world_size: int, device: torch.device) -> bool:
    if world_size == 1:
        return flag
    tensor = torch.tensor([float(flag)], device=device)
    torch.distributed.all_reduce(tensor)
    return bool(tensor > 0)


def _record(
    recipe: Recipe,
    cfg: LoopConfig,
    rows: list[dict],
    step: int,
    elapsed: float,
    world_size: int,
    references: dict[str, float],
    device: torch.device,
) -> dict:
    train_losses = [r["train_loss"] for r in rows if "train_loss" in r][-50:]
    validations = [r for r in rows if "val_loss" in r]
    return {
        "recipe": recipe.name,
        "command": " ".join(["python -m dmc.train"] + list(recipe.config.get("argv", []))),
        "config": {k: v for k, v in recipe.config.items() if k != "argv"},
        "loop": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()},
        "steps": step,
        "wall_time_s": round(elapsed, 1),
        "device": str(device),
        "world_size": world_size,
        "final_train_loss": sum(train_losses) / len(train_losses) if train_losses else None,
        "final_validation": {k: v for k, v in validations[-1].items() if k.startswith("val")}
        if validations
        else {},
        "best_val_loss": min((r["val_loss"] for r in validations), default=None),
        "references": references,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "finished_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def train(recipe: Recipe, cfg: LoopConfig) -> dict:
    """Train ``recipe.model`` as ``cfg`` says; returns the run record (also in ``run_dir/record.json``).

    Writes into ``cfg.run_dir``: ``state.pt`` (resumable), ``history.csv``, ``history.png``,
    ``best.pt`` and ``final.pt`` (self-describing models), ``record.json``.
    """
    rank, world_size, device, started_group = _distributed(cfg.device)
    try:
        return _train(recipe, cfg, rank, world_size, device)
    finally:
        if started_group:
            torch.distributed.destroy_process_group()


def _train(
    recipe: Recipe, cfg: LoopConfig, rank: int, world_size: int, device: torch.device
) -> dict:
    run_dir = Path(cfg.run_dir)
    main_process = rank == 0
    if main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
    model = recipe.model.to(device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise TrainingError(f"{recipe.name}: the model has no trainable parameters")
    optimizer = torch.optim.Adam(trainable, lr=cfg.lr)
    step, rows, elapsed, references = 0, [], 0.0, None
    state_path = run_dir / STATE_FILE
    if cfg.resume and state_path.exists():
        state = load_training_state(state_path)
        saved = state["model"]
        theirs, ours = state.get("config") or {}, _plain_config(recipe.config)
        if saved["class_name"] != type(model).__name__ or theirs != ours:
            differ = sorted(k for k in {*theirs, *ours} if theirs.get(k) != ours.get(k))
            raise TrainingError(
                f"{run_dir} holds a run with other settings "
                f"({', '.join(differ) if differ else saved['class_name']}); "
                "use another --run-dir, or --no-resume to start over there"
            )
        model.load_state_dict(saved["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        step, rows, elapsed, references = (
            state["step"],
            state["history"],
            state["elapsed_s"],
            state["references"],
        )
    if references is None:
        references = recipe.references(device) if main_process else {}

    net = model
    if world_size > 1:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    use_amp = cfg.amp
    amp_dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and device.type == "cuda")
    best = min((r["val_loss"] for r in rows if "val_loss" in r), default=math.inf)

    def save_state() -> None:
        save_training_state(
            state_path,
            {
                "model": serialize_model(model)
                if hasattr(model, "init_kwargs")
                else {"class_name": type(model).__name__, "state_dict": model.state_dict()},
                "optimizer": optimizer.state_dict(),
                "step": step,
                "history": rows,
                "elapsed_s": elapsed,
                "references": references,
                "config": _plain_config(recipe.config),
            },
        )
        history.write_csv(run_dir / "history.csv", rows)
        history.plot(
            run_dir / "history.png",
            rows,
            references,
            " ".join(
                [recipe.name, str(recipe.config.get("task") or recipe.config.get("preset") or "")]
            ).strip()
            + ": loss per step",
        )

    def validate() -> dict[str, float]:
        nonlocal best
        metrics = recipe.validate(model, device)
        if metrics["val_loss"] < best:
            best = metrics["val_loss"]
            record = _record(
                recipe,
                cfg,
                rows + [{"step": step, **metrics}],
                step,
                elapsed,
                world_size,
                references,
                device,
            )
            save_model(run_dir / "best.pt", recipe.exported(model), recipe.config, record)
        return metrics

    bar = tqdm(
        total=cfg.steps,
        initial=step,
        desc=recipe.name,
        disable=not (cfg.progress and main_process),
        dynamic_ncols=True,
    )
    if step == 0 and main_process:
        rows.append({"step": 0, **validate(), "elapsed_s": 0.0})
    clock = time.perf_counter()
    start_elapsed = elapsed
    while step < cfg.steps:
        torch.manual_seed(cfg.seed * 1_000_003 + step)
        if hasattr(recipe, "before_step"):
            recipe.before_step(step)
        model.train()
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(cfg, step)
        batch = {k: v.to(device) for k, v in recipe.batch(step, rank, world_size).items()}
        with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
            loss, metrics = recipe.loss(net, batch)
        if not torch.isfinite(loss.detach()):
            raise TrainingError(f"{recipe.name}: the loss became {loss.item()} at step {step}")
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        row = {"step": step + 1, "lr": optimizer.param_groups[0]["lr"]}
        if cfg.grad_clip:
            scaler.unscale_(optimizer)
            row["grad_norm"] = float(nn.utils.clip_grad_norm_(trainable, cfg.grad_clip))
        scaler.step(optimizer)
        scaler.update()
        step += 1
        elapsed = start_elapsed + time.perf_counter() - clock
        row.update(
            train_loss=_mean_across(loss.item(), world_size, device),
            **metrics,
            elapsed_s=round(elapsed, 2),
        )
        out_of_time = _any_rank(
            cfg.max_minutes is not None and elapsed > 60 * cfg.max_minutes, world_size, device
        )
        last = step == cfg.steps or out_of_time
        if main_process and (step % cfg.val_every == 0 or last):
            row.update(validate())
        rows.append(row)
        bar.update(1)
        bar.set_postfix(
            loss=f"{row['train_loss']:.4f}",
            **({"val": f"{row['val_loss']:.4f}"} if "val_loss" in row else {}),
        )
        if main_process and (step % cfg.save_every == 0 or last):
            save_state()
        if out_of_time:
            break
    bar.close()
    record = _record(recipe, cfg, rows, step, elapsed, world_size, references, device)
    record["rank_checksums"] = _checksums(trainable, world_size)
    if main_process:
        if not (run_dir / "history.csv").exists():
            save_state()
        save_model(run_dir / "final.pt", recipe.exported(model), recipe.config, record)
        (run_dir / "record.json").write_text(json.dumps(record, indent=2) + "\n")
    if world_size > 1:
        torch.distributed.barrier()
    return record


def _checksums(parameters: list[torch.Tensor], world_size: int) -> list[str]:
    """A hash of the trained weights from every rank: equal hashes prove DDP kept the replicas in sync."""
    flat = torch.cat([p.detach().reshape(-1).cpu() for p in parameters]).numpy().tobytes()
    mine = hashlib.sha256(flat).hexdigest()[:16]
    if world_size == 1:
        return [mine]
    gathered: list[str] = [""] * world_size
    torch.distributed.all_gather_object(gathered, mine)
    return gathered


def _plain_config(config: dict) -> dict:
    """The config as stored in a state (argv left out: a resumed command may differ in --steps)."""
    return json.loads(json.dumps({k: v for k, v in config.items() if k != "argv"}, default=str))


def command_line(argv: list[str] | None) -> list[str]:
    """The arguments a run was started with, for its record."""
    return list(sys.argv[1:] if argv is None else argv)
