"""Learning curves from a :class:`medai_edu.train.History`."""

from __future__ import annotations

import matplotlib.pyplot as plt


def plot_history(history, metrics: list[str] | None = None, title: str = "Training history"):
    """Loss curves (left) and validation metrics (right) per epoch; returns the Figure.

    metrics: record keys to draw on the right, default every "val_*" key except the loss.
    The best epoch (by the history's monitor) is marked by a dotted line.
    """
    if not len(history):
        raise ValueError("the history is empty: train for at least one epoch")
    epochs = history["epoch"]
    metrics = metrics or [k for k in history.keys if k.startswith("val_") and k != "val_loss"]
    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(10, 3.6))
    for key in ("train_loss", "val_loss"):
        if key in history.keys:
            ax_loss.plot(epochs, history[key], marker="o", label=key.replace("_", " "))
    ax_loss.set(title="Loss", xlabel="epoch", ylabel="loss (unitless)")
    ax_loss.legend()
    for key in metrics:
        ax_metric.plot(epochs, history[key], marker="o", label=key.removeprefix("val_"))
    ax_metric.set(title="Validation metrics", xlabel="epoch", ylabel="score (0-1)")
    if metrics:
        ax_metric.legend()
    for ax in (ax_loss, ax_metric):
        if history.best_epoch is not None:
            ax.axvline(history.best_epoch, color="grey", linestyle=":", label="best epoch")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{title} ({history.device}, {history.total_seconds:.1f} s)")
    fig.tight_layout()
    return fig
