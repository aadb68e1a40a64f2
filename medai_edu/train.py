"""One fit/evaluate loop for every model in the course.

A batch is ``(inputs, targets)``; ``inputs`` and ``targets`` may be tensors or (nested)
dicts/lists of tensors. The model is called as ``model(inputs)`` and the loss as
``loss_fn(outputs, targets)``. Metrics are computed on the whole validation set at once by
``metrics_fn(outputs, targets) -> dict`` (see :mod:`medai_edu.metrics`).

What the loop takes care of, so that labs do not repeat it: the device (CUDA, then Apple
MPS, then CPU), seeds, mixed precision on CUDA, a progress bar, early stopping on a monitored
value with the best weights restored, checkpoints (weights only), and a :class:`History`.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from medai_edu.models.pretrained import read_checkpoint

MetricsFn = Callable[[object, object], dict[str, float]]


# --------------------------------------------------------------------------- device and seeds


def select_device(preferred: str | None = None, verbose: bool = True) -> torch.device:
    """CUDA if present, then Apple MPS, then CPU; ``preferred`` (e.g. "cpu") overrides.

    Prints one line saying what was chosen, so a lab's output shows where it ran.
    """
    if preferred is not None:
        device = torch.device(preferred)
    elif torch.cuda.is_available():
        device = torch.device("cuda")
    elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        device = torch.device("mps")
    else:
        device = torch.device("cpu")
    if verbose:
        print(f"medai-edu: using {describe_device(device)}")
    return device


def device_of(model: nn.Module) -> torch.device:
    """Where the model's parameters are: helpers that run a model run it there."""
    return next(model.parameters()).device


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (all devices) for a reproducible run."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - seeds legacy np.random users (e.g. libraries)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)


def _to_device(obj, device):
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, dict):
        return {k: _to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_to_device(v, device) for v in obj)
    return obj


def _concat(chunks: list):
    """Concatenate per-batch outputs (tensors or dicts of tensors) along the batch axis."""
    first = chunks[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(
            [c.detach().float().cpu() if c.is_floating_point() else c.cpu() for c in chunks]
        )
    if isinstance(first, dict):
        return {k: _concat([c[k] for c in chunks]) for k in first}
    if isinstance(first, list | tuple):
        return type(first)(_concat(list(group)) for group in zip(*chunks, strict=True))
    raise TypeError(f"cannot concatenate batch outputs of type {type(first).__name__}")


def _autocast(device: torch.device, amp: bool):
    """bf16 autocast on CUDA when asked (no loss scaling needed); nothing elsewhere."""
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


# --------------------------------------------------------------------------- history


@dataclass
class History:
    """The records of a :func:`fit` or :func:`train_steps` run.

    records: :func:`fit` keeps one dict per epoch with "epoch", "train_loss", "seconds", "lr"
    and, with validation data, "val_loss" and "val_<metric>" for each metric;
    :func:`train_steps` one per step with "step", "train_loss", "seconds", "lr".
    monitor / mode: the value that chose the best epoch and whether lower or higher is better.
    """

    records: list[dict] = field(default_factory=list)
    monitor: str = "train_loss"
    mode: str = "min"
    best_epoch: int | None = None
    stopped_early: bool = False
    device: str = "cpu"

    def __getitem__(self, key: str) -> list[float]:
        return [r.get(key, float("nan")) for r in self.records]

    def __len__(self) -> int:
        return len(self.records)

    @property
    def keys(self) -> list[str]:
        return list(dict.fromkeys(k for r in self.records for k in r))

    @property
    def best(self) -> dict:
        """The record of the best epoch (by ``monitor``)."""
        if self.best_epoch is None:
            return self.records[-1] if self.records else {}
        return self.records[self.best_epoch - 1]

    @property
    def total_seconds(self) -> float:
        return float(sum(self["seconds"]))

    def to_dict(self) -> dict:
        return {
            "records": self.records,
            "monitor": self.monitor,
            "mode": self.mode,
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
            "device": self.device,
        }


def _improved(value: float, best: float | None, mode: str, min_delta: float) -> bool:
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


# --------------------------------------------------------------------------- fit / evaluate


def _train_one_epoch(model, loader, loss_fn, optimizer, device, amp, bar, scheduler=None):
    model.train()
    total, count = 0.0, 0
    for inputs, targets in loader:
        inputs, targets = _to_device(inputs, device), _to_device(targets, device)
        optimizer.zero_grad(set_to_none=True)
        with _autocast(device, amp):
            loss = loss_fn(model(inputs), targets)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()}; lower the learning rate")
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total, count = total + loss.item(), count + 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
    if count == 0:
        raise ValueError("the training loader yielded no batches")
    return total / count


@torch.no_grad()
def predict(model: nn.Module, loader, device: torch.device | str | None = None, amp: bool = True):
    """Run the model over a loader; returns (outputs, targets) concatenated on the CPU."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.eval()
    outputs, targets = [], []
    for inputs, target in loader:
        with _autocast(device, amp):
            outputs.append(model(_to_device(inputs, device)))
        targets.append(target)
    if not outputs:
        raise ValueError("the loader yielded no batches")
    return _concat(outputs), _concat(targets)


def evaluate(
    model: nn.Module,
    loader,
    *,
    loss_fn: Callable | None = None,
    metrics_fn: MetricsFn | None = None,
    device: torch.device | str | None = None,
    amp: bool = True,
) -> dict[str, float]:
    """Loss (averaged over samples) and metrics of a model on a whole loader."""
    outputs, targets = predict(model, loader, device, amp)
    result = {}
    if loss_fn is not None:
        result["loss"] = float(loss_fn(outputs, targets))
    if metrics_fn is not None:
        result |= {k: float(v) for k, v in metrics_fn(outputs, targets).items()}
    return result


def fit(
    model: nn.Module,
    train_loader,
    val_loader=None,
    *,
    loss_fn: Callable,
    epochs: int = 10,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    optimizer: torch.optim.Optimizer | None = None,
    metrics_fn: MetricsFn | None = None,
    monitor: str | None = None,
    mode: str | None = None,
    patience: int | None = None,
    min_delta: float = 0.0,
    checkpoint: str | Path | None = None,
    device: torch.device | str | None = None,
    amp: bool = True,
    seed: int | None = 0,
    time_budget_s: float | None = None,
    progress: bool = True,
    schedule: str = "constant",
    warmup_epochs: float = 0,
) -> History:
    """Train ``model`` and return its :class:`History`.

    monitor: a key of the epoch record to select the best epoch, e.g. "val_auroc"; default
        "val_loss" with validation data, else "train_loss". mode: "min" or "max" (default
        "max" for names containing auroc/accuracy/cindex, else "min").
    patience: stop after this many epochs without improvement (early stopping).
    checkpoint: save the best weights there (a ``state_dict``; see :func:`load_checkpoint`).
    time_budget_s: stop after the epoch that exceeds this many seconds of training.
    schedule / warmup_epochs: the learning rate per optimiser step (see :func:`_lr_schedule`):
        a linear warm-up over ``warmup_epochs``, then "constant" (the default; with no
        warm-up, the rate never changes) or "cosine" decay to zero at the end of ``epochs``.
        Each epoch's record keeps the rate its first step used.
    The model ends with the best epoch's weights.
    """
    from tqdm.auto import tqdm

    if seed is not None:
        seed_everything(seed)
    device = torch.device(device) if device is not None else select_device(verbose=progress)
    model.to(device)
    optimizer = optimizer or torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    monitor = monitor or ("val_loss" if val_loader is not None else "train_loss")
    if monitor.startswith("val_") and val_loader is None:
        raise ValueError(f"monitor={monitor!r} needs validation data (val_loader)")
    if mode is None:
        higher_is_better = ("auroc", "accuracy", "cindex", "recall", "dice")
        mode = "max" if any(name in monitor for name in higher_is_better) else "min"
    history = History(monitor=monitor, mode=mode, device=str(device))
    best_value, best_state, waited = None, None, 0
    steps = epochs * len(train_loader) if hasattr(train_loader, "__len__") else None
    scheduler = _lr_schedule(optimizer, schedule, warmup_epochs, epochs, train_loader)
    bar = tqdm(total=steps, desc="training", unit="batch", disable=not progress)
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        record = {"epoch": epoch, "lr": optimizer.param_groups[0]["lr"]}
        record["train_loss"] = _train_one_epoch(
            model, train_loader, loss_fn, optimizer, device, amp, bar, scheduler
        )
        if val_loader is not None:
            scores = evaluate(
                model, val_loader, loss_fn=loss_fn, metrics_fn=metrics_fn, device=device, amp=amp
            )
            record |= {f"val_{k}": v for k, v in scores.items()}
        record["seconds"] = time.perf_counter() - t0
        history.records.append(record)
        if monitor not in record:
            raise KeyError(f"monitor {monitor!r} is not among the epoch's values {list(record)}")
        bar.set_postfix(
            {k: f"{v:.4f}" for k, v in record.items() if k.startswith(("train", "val"))}
        )
        if _improved(record[monitor], best_value, mode, min_delta):
            best_value, waited, history.best_epoch = record[monitor], 0, epoch
            best_state = copy.deepcopy(model.state_dict())
            if checkpoint is not None:
                save_checkpoint(model, checkpoint, epoch=epoch, **{monitor: best_value})
        else:
            waited += 1
        if patience is not None and waited >= patience:
            history.stopped_early = True
            break
        if time_budget_s is not None and time.perf_counter() - started > time_budget_s:
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


def _lr_schedule(optimizer, schedule: str, warmup_epochs: float, epochs: int, train_loader):
    """A per-step learning-rate scheduler for :func:`fit`, or None when the rate is constant.

    Linear warm-up from 1/warmup_steps of the rate to the full rate over ``warmup_epochs``
    (the first step already learns), then "constant", or "cosine": half a cosine from the
    full rate down to zero at the last step of ``epochs`` (as in MOME's fine-tuning).
    """
    if schedule not in ("constant", "cosine"):
        raise ValueError(f"schedule must be 'constant' or 'cosine', got {schedule!r}")
    if warmup_epochs < 0:
        raise ValueError(f"warmup_epochs must be >= 0, got {warmup_epochs}")
    if schedule == "constant" and not warmup_epochs:
        return None
    if not hasattr(train_loader, "__len__"):
        raise ValueError("a learning-rate schedule needs a training loader with a length")
    per_epoch = len(train_loader)
    warmup, total = round(warmup_epochs * per_epoch), epochs * per_epoch

    def factor(step: int) -> float:  # step: optimiser steps taken so far
        if step < warmup:
            return (step + 1) / warmup
        if schedule == "constant":
            return 1.0
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


# --------------------------------------------------------------------------- train_steps


def train_steps(
    model: nn.Module,
    batches,
    loss_fn: Callable[[nn.Module, object], torch.Tensor],
    *,
    steps: int,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    optimizer: torch.optim.Optimizer | None = None,
    schedule: Callable[[torch.optim.Optimizer], object] | None = None,
    checkpoint: str | Path | None = None,
    device: torch.device | str | None = None,
    amp: bool = False,
    seed: int | None = None,
    time_budget_s: float | None = None,
    progress: bool = True,
    desc: str = "training",
) -> History:
    """Take ``steps`` optimiser steps and return a :class:`History` with one record per step.

    The step-based sibling of :func:`fit`, for recipes that draw their own batches (random
    picks, augmentations, a whole cohort at once) rather than loop over a loader's epochs.

    batches: an iterable of batches (cycled when it runs out), or a callable ``step -> batch``.
        Each batch is moved to the device (tensors, dicts, lists) and passed to
        ``loss_fn(model, batch)``, which returns the scalar loss to minimise.
    optimizer: default AdamW(lr, weight_decay) over the parameters that require a gradient.
    schedule: ``optimizer -> scheduler``, stepped after each optimiser step (e.g. OneCycleLR).
    checkpoint: save the final weights there (see :func:`save_checkpoint`).
    device: default :func:`select_device` (None prints nothing when ``progress`` is off); the
        model is moved there and stays. seed: None keeps the current random state, so a
        recipe that seeds once for several stages gets the same numbers as before.
    amp: bf16 autocast on CUDA (off by default: the small recipes gain nothing from it).
    time_budget_s: stop after the step that exceeds this many seconds.
    The model ends in evaluation mode with the last step's weights.
    """
    from tqdm.auto import tqdm

    if seed is not None:
        seed_everything(seed)
    device = torch.device(device) if device is not None else select_device(verbose=progress)
    model.to(device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise ValueError("the model has no parameter that requires a gradient")
    optimizer = optimizer or torch.optim.AdamW(trainable, lr=lr, weight_decay=weight_decay)
    scheduler = schedule(optimizer) if schedule is not None else None
    draw = batches if callable(batches) else _cycle(batches)
    history = History(device=str(device))
    started = time.perf_counter()
    model.train()
    for step in tqdm(range(1, int(steps) + 1), desc=desc, disable=not progress, leave=False):
        t0 = time.perf_counter()
        record = {"step": step, "lr": optimizer.param_groups[0]["lr"]}
        batch = _to_device(draw(step) if callable(batches) else next(draw), device)
        with _autocast(device, amp):
            loss = loss_fn(model, batch)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()} at step {step}; lower the lr")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        history.records.append(record | {"train_loss": loss.item()})
        history.records[-1]["seconds"] = time.perf_counter() - t0
        if time_budget_s is not None and time.perf_counter() - started > time_budget_s:
            history.stopped_early = True
            break
    model.eval()
    if checkpoint is not None:
        save_checkpoint(model, checkpoint, steps=len(history))
    return history


def _cycle(batches):
    """Batches from an iterable, started again each time it runs out."""
    while True:
        empty = True
        for batch in batches:
            empty = False
            yield batch
        if empty:
            raise ValueError("batches yielded nothing")


# --------------------------------------------------------------------------- checkpoints


def save_checkpoint(model: nn.Module, path: str | Path, **metadata) -> Path:
    """Save the model's weights (a ``state_dict``) and plain metadata (numbers, strings)."""
    plain = (str, int, float, bool, type(None))
    odd = {k: type(v).__name__ for k, v in metadata.items() if type(v) not in plain}
    if odd:  # anything else would not load with weights_only=True
        raise TypeError(f"checkpoint metadata must be numbers or strings, got {odd}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, "metadata": metadata}, path)
    return path


def load_checkpoint(model: nn.Module, path: str | Path, strict: bool = True) -> dict:
    """Load weights saved by :func:`save_checkpoint` into ``model``; returns the metadata.

    Only tensors and plain values are unpickled (``weights_only=True``), so a checkpoint
    from an untrusted source cannot run code.
    """
    state, metadata = read_checkpoint(path)
    model.load_state_dict(state, strict=strict)
    return metadata
