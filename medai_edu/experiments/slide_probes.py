"""Using a slide encoder (mSTAR-mini): tile features, slide embeddings, and the downstream
tests of a pretrained encoder: few-shot probes, zero-shot slide-to-report retrieval, Cox
survival, supervised multiple-instance learning, predictions and attention maps."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression

from medai_edu import metrics
from medai_edu.data.pathology import SlideBags
from medai_edu.models.mstar import MSTARMini, cox_loss
from medai_edu.train import device_of, train_steps


def _on(batch: dict, device: torch.device) -> dict:
    """The batch's tensors, moved to ``device``."""
    return {k: v.to(device) for k, v in batch.items()}


@torch.no_grad()
def patch_features(model: MSTARMini, bags: SlideBags, chunk: int = 16) -> torch.Tensor:
    """(S, N, D) features of every tile with the current patch encoder (eval mode), on the
    CPU; the model runs where its parameters are (CPU or GPU)."""
    model.eval()
    device = device_of(model)
    parts = []
    for i in range(0, len(bags), chunk):
        tiles = bags.float_tiles(slice(i, i + chunk)).to(device)
        parts.append(model.encode_tiles(tiles, bags.tile_mask[i : i + chunk].to(device)).cpu())
    return torch.cat(parts)


@torch.no_grad()
def slide_embeddings(model: MSTARMini, bags: SlideBags, how: str = "mean") -> np.ndarray:
    """(S, E) slide embeddings: ``"mean"`` of the patch features, or the ``"aggregator"``'s."""
    features = patch_features(model, bags)
    if how == "mean":
        mask = bags.tile_mask[..., None].float()
        return ((features * mask).sum(1) / mask.sum(1)).numpy()
    model.eval()
    device = device_of(model)
    slide, _ = model.encode_slide(
        features.to(device), bags.tile_mask.to(device), bags.grid.to(device)
    )
    return slide.cpu().numpy()


def few_shot_auroc(train_x, train_y, test_x, test_y, shots, draws=20, seed=0) -> float:
    """Mean macro one-vs-rest AUROC of logistic regression on ``shots`` slides per class,
    over ``draws`` random draws of the shots."""
    rng = np.random.default_rng(seed)
    classes = np.unique(train_y)
    train_y, test_y = np.searchsorted(classes, train_y), np.searchsorted(classes, test_y)
    classes = np.arange(len(classes))  # grades 1-3 become columns 0-2 of predict_proba
    scores = []
    for _ in range(draws):
        pick = np.concatenate(
            [rng.choice(np.flatnonzero(train_y == c), shots, replace=False) for c in classes]
        )
        mean, std = train_x[pick].mean(0), train_x[pick].std(0) + 1e-6
        clf = LogisticRegression(max_iter=500, C=1.0).fit(
            (train_x[pick] - mean) / std, train_y[pick]
        )
        proba = clf.predict_proba((test_x - mean) / std)
        scores.append(metrics.auroc(test_y, proba))
    return float(np.mean(scores))


def retrieval_recall(slide_emb, report_emb, ks=(1, 5)) -> dict[str, float]:
    """Zero-shot slide-to-report retrieval: is a slide's own report among its k nearest?"""
    a = F.normalize(torch.as_tensor(slide_emb), dim=-1)
    b = F.normalize(torch.as_tensor(report_emb), dim=-1)
    rank = (a @ b.T).argsort(dim=1, descending=True)
    hit = rank == torch.arange(len(a))[:, None]
    return {f"recall@{k}": float(hit[:, :k].any(1).float().mean()) for k in ks}


def fit_penalised_cox(x, event, months, penalty: float = 0.1) -> torch.Tensor:
    """Ridge-penalised Cox regression by L-BFGS: minimises the mean negative partial
    log-likelihood + ``penalty`` * ||w||^2. x (S, K) standardised inputs; returns w (K,).

    The penalty keeps a 64-dimensional fit on ~100 slides from memorising them (an
    unpenalised fit does)."""
    x = torch.as_tensor(x, dtype=torch.float32)
    event, months = torch.as_tensor(event), torch.as_tensor(months)
    w = torch.zeros(x.shape[1], requires_grad=True)
    optimizer = torch.optim.LBFGS([w], max_iter=100, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = cox_loss(x @ w, event, months) + penalty * (w**2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return w.detach()


def survival_cindex(train_x, train_bags, test_x, test_bags, penalty: float = 0.1) -> float:
    """A ridge-penalised Cox model on frozen slide embeddings; Harrell's C on the test
    slides. For a comparison with intervals use
    :func:`medai_edu.experiments.slide_evaluation.survival_cross_validation`."""
    x = np.asarray(train_x, dtype=np.float32)
    mean, std = x.mean(0), x.std(0) + 1e-6
    w = fit_penalised_cox((x - mean) / std, train_bags.event, train_bags.months, penalty)
    test = (np.asarray(test_x, dtype=np.float32) - mean) / std
    risk = torch.as_tensor(test) @ w
    return metrics.concordance_index(risk, test_bags.event, test_bags.months)


def train_mil(
    model: MSTARMini,
    bags: SlideBags,
    label="tumour_type",
    steps=80,
    batch=8,
    lr=2e-3,
    device: torch.device | str | None = None,
):
    """Supervised multiple-instance learning: only the slide's label is known, the patch
    encoder and the aggregator learn end to end which tiles show it. Returns the losses.

    device: where to train (None: the CPU); the model is moved there and stays there, and
    each batch of slides is moved there."""
    targets = getattr(bags, label)
    targets = targets - targets.min()  # grades 1-3 -> classes 0-2

    def slides(step: int) -> tuple[dict, torch.Tensor]:
        pick = torch.randperm(len(bags))[:batch]
        inputs = {
            "tiles": bags.float_tiles(pick),
            "tile_mask": bags.tile_mask[pick],
            "grid": bags.grid[pick],
        }
        return inputs, targets[pick]

    def loss(model, batch) -> torch.Tensor:
        inputs, labels = batch
        return F.cross_entropy(model(inputs)["logits"], labels)

    history = train_steps(
        model,
        slides,
        loss,
        steps=steps,
        lr=lr,
        weight_decay=1e-4,
        device=device or "cpu",
        desc="MIL training",
    )
    return history["train_loss"]


@torch.no_grad()
def predict_slides(model: MSTARMini, bags: SlideBags) -> np.ndarray:
    """(S, C) class probabilities of every slide (the model runs where it is)."""
    features = patch_features(model, bags)
    inputs = {"features": features, "tile_mask": bags.tile_mask, "grid": bags.grid}
    out = model(_on(inputs, device_of(model)))
    return out["logits"].softmax(-1).cpu().numpy()


@torch.no_grad()
def attention_heatmap(model: MSTARMini, bags: SlideBags, index: int, slide_size=(512, 512)):
    """(rows, cols) map of the aggregator's attention over slide ``index``'s tiles, one cell
    per tile, NaN where no tile was read; ``slide_size`` is the level-0 (width, height)
    (:data:`~medai_edu.data.pathology.BAG_SLIDE`'s by default)."""
    from medai_edu.wsi import stitch_heatmap

    model.eval()
    one = bags.subset([index])
    features = patch_features(model, one)
    device = device_of(model)
    _, attention = model.encode_slide(
        features.to(device), one.tile_mask.to(device), one.grid.to(device)
    )
    keep = one.tile_mask[0]
    tile = model.config.tile_size
    coords = one.grid[0, keep].flip(-1).numpy() * tile  # (row, col) -> level-0 (x, y)
    return stitch_heatmap(coords, attention[0].cpu()[keep].numpy(), tile, slide_size, tile)
