"""Figures of the demo lab: what an API call returned, and how long a class waited."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np


def plot_probabilities(probabilities: Mapping[str, float], title: str, ax=None):
    """Horizontal bars of one prediction's class probabilities (0-1)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 0.5 + 0.45 * len(probabilities)), layout="constrained")
    names = list(probabilities)
    ax.barh(names, [probabilities[n] for n in names], color="tab:blue")
    ax.set(xlim=(0, 1), title=title, xlabel="probability (0-1)", ylabel="class")
    ax.invert_yaxis()
    return ax.figure


def plot_latencies(results: Sequence, target_s: float | None = 2.0, ax=None):
    """Each tab's request latencies under load (``medai_edu.demos.load.LoadResult``): one
    box per tab, with the p95 marked and the target as a dashed line."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
    tabs = [r.tab for r in results]
    ax.boxplot([r.latencies for r in results], tick_labels=tabs, whis=(5, 95))
    p95 = [np.percentile(r.latencies, 95) if r.latencies else np.nan for r in results]
    ax.scatter(range(1, len(results) + 1), p95, marker="v", color="tab:red", label="p95", zorder=3)
    if target_s is not None:
        ax.axhline(target_s, linestyle="--", color="tab:red", linewidth=1, label="target p95")
    clients = {getattr(r, "clients", None) for r in results} - {None}
    who = f"{clients.pop()} users at once" if len(clients) == 1 else "users at once"
    ax.set(title=f"Latency per request, {who}", xlabel="tab", ylabel="latency (s)")
    ax.legend(loc="upper left", fontsize="small")
    return ax.figure
