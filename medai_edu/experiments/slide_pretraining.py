"""mSTAR-mini's two pretraining stages and its downstream tests, on synthetic slides.

The comparison of the paper, in miniature: few-shot slide classification with the patch
encoder (a) at random weights, (b) pretrained on tiles alone (SimCLR, no text or genes),
(c) after stage 1 (slide, report and genes aligned through the aggregator), (d) after stage
2 (the frozen aggregator taught the patch encoder). Plus survival (Cox, C-index) and
zero-shot slide-to-report retrieval. The benchmark and the lab call these functions.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from tqdm.auto import tqdm

from medai_edu import metrics
from medai_edu.data.pathology import (  # noqa: F401 - re-exported: the labs import them here
    SMALL_SLIDE,
    SlideBags,
    make_slide_bags,
)
from medai_edu.models import create_model
from medai_edu.models.mstar import (
    MSTARMini,
    ReportTokenizer,
    contrastive_loss,
    cox_loss,
    stage1_loss,
)
from medai_edu.train import load_checkpoint, save_checkpoint

#: Where the shipped mSTAR-mini teaching checkpoints live (``medai-edu train
#: slide-pretraining`` remakes them).
TEACHING_CHECKPOINTS = Path(__file__).resolve().parent.parent / "checkpoints" / "slide-pretraining"


def _on(batch: dict, device: torch.device) -> dict:
    """The batch's tensors, moved to ``device`` (built on the CPU, where the random picks
    are drawn, so that CPU results do not depend on the device argument)."""
    return {k: v.to(device) for k, v in batch.items()}


def _device_of(model: torch.nn.Module) -> torch.device:
    """Where the model's parameters are: the helpers that run a model run it there."""
    return next(model.parameters()).device


def _step(optimizer, loss: torch.Tensor, losses: list[float]) -> None:
    """One optimiser step on ``loss``, which is recorded in ``losses``."""
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())


# --------------------------------------------------------------------------- (b) tiles alone


#: Colour jitter of the SimCLR views: (per-channel gain sd, offset sd). Kept mild on
#: purpose: the synthetic tumour types differ in stain colour (pink keratin, blue small
#: cells), and a strong jitter (0.15, 0.05) teaches the encoder to ignore exactly that
#: (4-shot tumour-type AUROC 0.86 instead of 0.93).
COLOUR_JITTER = (0.03, 0.01)


def _augment(tiles: torch.Tensor) -> torch.Tensor:
    """Random flips, 90-degree turns, stain-like colour jitter and noise; (B, 3, t, t)."""
    if torch.rand(()) < 0.5:
        tiles = tiles.flip(-1)
    tiles = torch.rot90(tiles, int(torch.randint(4, ())), dims=(-2, -1))
    b = tiles.shape[0]
    gain, offset = COLOUR_JITTER
    scale = 1 + gain * torch.randn(b, 3, 1, 1)
    shift = offset * torch.randn(b, 3, 1, 1)
    return (tiles * scale + shift + 0.02 * torch.randn_like(tiles)).clamp(0, 1)


def pretrain_tiles_simclr(
    model: MSTARMini,
    bags: SlideBags,
    steps=150,
    batch=128,
    lr=2e-3,
    device: torch.device | str | None = None,
):
    """SimCLR on tiles alone: two augmented views of a tile should match (NT-Xent).

    device: where to train (None: the CPU); the model is moved there and stays there. The
    tiles are picked and augmented on the CPU, then moved."""
    device = torch.device(device or "cpu")
    encoder = model.to(device).patch_encoder  # the whole model moves; the encoder trains
    projector = torch.nn.Sequential(torch.nn.Linear(model.config.feature_dim, 64)).to(device)
    params = list(encoder.parameters()) + list(projector.parameters())
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    pool = bags.tiles[bags.tile_mask]
    losses = []
    encoder.train()
    for _ in tqdm(range(steps), desc="tiles alone (SimCLR)", leave=False):
        pick = torch.randint(len(pool), (batch,))
        tiles = pool[pick].float() / 255
        z1 = projector(encoder(_augment(tiles).to(device)))
        z2 = projector(encoder(_augment(tiles).to(device)))
        loss = contrastive_loss(z1, z2, temperature=0.2)
        _step(optimizer, loss, losses)
    encoder.eval()
    return losses


# --------------------------------------------------------------------------- stage 1


@torch.no_grad()
def patch_features(model: MSTARMini, bags: SlideBags, chunk: int = 16) -> torch.Tensor:
    """(S, N, D) features of every tile with the current patch encoder (eval mode), on the
    CPU; the model runs where its parameters are (CPU or GPU)."""
    model.eval()
    device = _device_of(model)
    parts = []
    for i in range(0, len(bags), chunk):
        tiles = bags.float_tiles(slice(i, i + chunk)).to(device)
        parts.append(model.encode_tiles(tiles, bags.tile_mask[i : i + chunk].to(device)).cpu())
    return torch.cat(parts)


def train_stage1(
    model, bags, tokenizer, steps=300, batch=32, lr=2e-3, device: torch.device | str | None = None
):
    """Stage 1: the aggregator, report and gene encoders learn a shared space; the patch
    encoder is frozen (its features are computed once).

    device: where to train (None: the CPU); the model is moved there and stays there."""
    device = torch.device(device or "cpu")
    model.to(device)
    features = patch_features(model, bags)  # on the CPU: batches are picked there
    tokens = tokenizer.transform(bags.reports)
    trainable = [p for n, p in model.named_parameters() if not n.startswith("patch_encoder")]
    optimizer = torch.optim.AdamW(trainable, lr=lr, weight_decay=1e-4)
    losses = []
    model.train()
    model.patch_encoder.eval()
    for _ in tqdm(range(steps), desc="stage 1", leave=False):
        pick = torch.randperm(len(bags))[:batch]
        inputs = {
            "features": features[pick],
            "tile_mask": bags.tile_mask[pick],
            "grid": bags.grid[pick],
            "report_tokens": tokens[pick],
            "genes": bags.genes[pick],
        }
        loss = stage1_loss(model(_on(inputs, device)), model.config.temperature)
        _step(optimizer, loss, losses)
    model.eval()
    return losses


# --------------------------------------------------------------------------- stage 2


def train_stage2(
    model,
    bags,
    tokenizer,
    steps=150,
    batch=16,
    tiles_per_slide=16,
    lr=1e-3,
    device: torch.device | str | None = None,
):
    """Stage 2 ("self-taught"): the stage-1 aggregator and report encoder, frozen, teach the
    patch encoder. Through the frozen aggregator, the student's slide embedding must match
    the teacher's (stage-1 features of the same tiles) and its report.

    device: where to train (None: the CPU); the model is moved there and stays there."""
    device = torch.device(device or "cpu")
    teacher = copy.deepcopy(model.to(device)).eval()  # both on the device
    for p in model.parameters():
        p.requires_grad_(False)
    for p in model.patch_encoder.parameters():
        p.requires_grad_(True)
    tokens = tokenizer.transform(bags.reports)
    optimizer = torch.optim.AdamW(model.patch_encoder.parameters(), lr=lr, weight_decay=1e-4)
    losses = []
    for _ in tqdm(range(steps), desc="stage 2 (self-taught)", leave=False):
        pick = torch.randperm(len(bags))[:batch]
        order = torch.rand(len(pick), bags.tiles.shape[1]).masked_fill(~bags.tile_mask[pick], 2)
        chosen = order.argsort(dim=1)[:, :tiles_per_slide]
        rows = pick[:, None]
        sub = {
            "tiles": bags.tiles[rows, chosen].float() / 255,
            "tile_mask": bags.tile_mask[rows, chosen],
            "grid": bags.grid[rows, chosen],
        }
        sub = _on(sub, device)
        with torch.no_grad():
            target = teacher(sub)["slide"]
            report = teacher.report_encoder(tokens[pick].to(device))
        model.eval()  # dropout off in the frozen parts; the encoder's BatchNorm trains:
        model.patch_encoder.train()
        student = model(sub)["slide"]
        loss = (1 - F.cosine_similarity(student, target).mean()) + contrastive_loss(
            student, report, model.config.temperature
        )
        _step(optimizer, loss, losses)
    for p in model.parameters():
        p.requires_grad_(True)
    model.eval()
    return losses


# --------------------------------------------------------------------------- downstream


@torch.no_grad()
def slide_embeddings(model: MSTARMini, bags: SlideBags, how: str = "mean") -> np.ndarray:
    """(S, E) slide embeddings: ``"mean"`` of the patch features, or the ``"aggregator"``'s."""
    features = patch_features(model, bags)
    if how == "mean":
        mask = bags.tile_mask[..., None].float()
        return ((features * mask).sum(1) / mask.sum(1)).numpy()
    model.eval()
    device = _device_of(model)
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


def survival_cindex(train_x, train_bags, test_x, test_bags, steps=300, lr=1e-2) -> float:
    """A linear Cox model on frozen slide embeddings; Harrell's C on the test slides."""
    x = torch.as_tensor(train_x, dtype=torch.float32)
    mean, std = x.mean(0), x.std(0) + 1e-6
    head = torch.nn.Linear(x.shape[1], 1)
    optimizer = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=1e-2)
    for _ in range(steps):
        loss = cox_loss(head((x - mean) / std).squeeze(-1), train_bags.event, train_bags.months)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        risk = head((torch.as_tensor(test_x, dtype=torch.float32) - mean) / std).squeeze(-1)
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
    device = torch.device(device or "cpu")
    targets = getattr(bags, label)
    targets = targets - targets.min()  # grades 1-3 -> classes 0-2
    optimizer = torch.optim.AdamW(model.to(device).parameters(), lr=lr, weight_decay=1e-4)
    losses = []
    model.train()
    for _ in tqdm(range(steps), desc="MIL training", leave=False):
        pick = torch.randperm(len(bags))[:batch]
        inputs = {
            "tiles": bags.float_tiles(pick),
            "tile_mask": bags.tile_mask[pick],
            "grid": bags.grid[pick],
        }
        out = model(_on(inputs, device))
        loss = F.cross_entropy(out["logits"], targets[pick].to(device))
        _step(optimizer, loss, losses)
    model.eval()
    return losses


@torch.no_grad()
def predict_slides(model: MSTARMini, bags: SlideBags) -> np.ndarray:
    """(S, C) class probabilities of every slide (the model runs where it is)."""
    features = patch_features(model, bags)
    inputs = {"features": features, "tile_mask": bags.tile_mask, "grid": bags.grid}
    out = model(_on(inputs, _device_of(model)))
    return out["logits"].softmax(-1).cpu().numpy()


@torch.no_grad()
def attention_heatmap(model: MSTARMini, bags: SlideBags, index: int, slide_size=(768, 768)):
    """(rows, cols) map of the aggregator's attention over slide ``index``'s tiles, one cell
    per tile, NaN where no tile was read; ``slide_size`` is the level-0 (width, height)."""
    from medai_edu.wsi import stitch_heatmap

    model.eval()
    one = bags.subset([index])
    features = patch_features(model, one)
    device = _device_of(model)
    _, attention = model.encode_slide(
        features.to(device), one.tile_mask.to(device), one.grid.to(device)
    )
    keep = one.tile_mask[0]
    tile = model.config.tile_size
    coords = one.grid[0, keep].flip(-1).numpy() * tile  # (row, col) -> level-0 (x, y)
    return stitch_heatmap(coords, attention[0].cpu()[keep].numpy(), tile, slide_size, tile)


@dataclass
class PretrainedEncoders:
    """The four encoders of the comparison, and what trained them."""

    random: MSTARMini
    tiles_only: MSTARMini
    stage1: MSTARMini
    stage2: MSTARMini
    tokenizer: ReportTokenizer
    losses: dict[str, list[float]]


def pretrain_all(
    bags: SlideBags,
    simclr_steps=150,
    stage1_steps=300,
    stage2_steps=150,
    seed=0,
    device: torch.device | str | None = None,
):
    """(a) random, (b) SimCLR on tiles, (c) stage 1 on (b), (d) stage 2 on (c).

    device: where to train (None: the CPU); the four encoders are returned there."""
    device = torch.device(device or "cpu")
    torch.manual_seed(seed)
    random = create_model("mstar-mini").eval().to(device)
    tiles_only = copy.deepcopy(random)
    losses = {"simclr": pretrain_tiles_simclr(tiles_only, bags, simclr_steps, device=device)}
    tokenizer = ReportTokenizer(tiles_only.config.vocab_size).fit(bags.reports)
    stage1 = copy.deepcopy(tiles_only)
    losses["stage1"] = train_stage1(stage1, bags, tokenizer, stage1_steps, device=device)
    stage2 = copy.deepcopy(stage1)
    losses["stage2"] = train_stage2(stage2, bags, tokenizer, stage2_steps, device=device)
    return PretrainedEncoders(random, tiles_only, stage1, stage2, tokenizer, losses)


#: How each encoder of the comparison turns a slide into one vector. "own": what the model
#: has at that point of its training (no slide aggregator was trained for (a) and (b), so
#: their tile features are averaged; (c) and (d) use mSTAR-mini's pretrained aggregator).
#: "mean": tile features averaged for all four, which asks how much of the slide-level
#: knowledge went down into the patch features themselves.
POOLINGS = {
    "own": {"random": "mean", "tiles_only": "mean", "stage1": "aggregator", "stage2": "aggregator"},
    "mean": {"random": "mean", "tiles_only": "mean", "stage1": "mean", "stage2": "mean"},
}
ENCODER_NAMES = {
    "random": "(a) random",
    "tiles_only": "(b) tiles alone",
    "stage1": "(c) stage 1",
    "stage2": "(d) stage 2",
}


def few_shot_table(
    encoders: PretrainedEncoders,
    train: SlideBags,
    test: SlideBags,
    shots=(1, 2, 4, 8, 16),
    label: str = "tumour_type",
    pooling: str = "own",
):
    """Rows {encoder, pooling, shots, auroc} for few-shot slide classification by ``label``
    (tumour_type or grade); ``pooling`` is a key of :data:`POOLINGS`."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {sorted(POOLINGS)}, got {pooling!r}")
    y_train, y_test = getattr(train, label).numpy(), getattr(test, label).numpy()
    per_class = np.unique(y_train, return_counts=True)[1].min()
    rows = []
    for key, how in POOLINGS[pooling].items():
        model = getattr(encoders, key)
        train_x, test_x = slide_embeddings(model, train, how), slide_embeddings(model, test, how)
        for k in shots:
            if k > per_class:
                continue
            auroc = few_shot_auroc(train_x, y_train, test_x, y_test, k)
            rows.append({"encoder": ENCODER_NAMES[key], "pooling": how, "shots": k, "auroc": auroc})
    return rows


# --------------------------------------------------------------------------- checkpoints


def save_encoders(encoders: PretrainedEncoders, directory, **provenance) -> list[Path]:
    """One checkpoint per encoder of the comparison (``random.pt`` ... ``stage2.pt``), each
    with its training losses, the report vocabulary and ``provenance``."""
    paths = []
    for key in ENCODER_NAMES:
        paths.append(
            save_checkpoint(
                getattr(encoders, key),
                Path(directory) / f"{key}.pt",
                encoder=key,
                losses=json.dumps(encoders.losses),
                vocabulary=json.dumps(encoders.tokenizer.index),
                vocab_size=encoders.tokenizer.vocab_size,
                **provenance,
            )
        )
    return paths


def load_encoders(directory=TEACHING_CHECKPOINTS) -> PretrainedEncoders:
    """The four encoders saved by :func:`save_encoders`, in evaluation mode on the CPU: the
    shipped ones by name (``create_model("mstar-mini", pretrained=...)``, checksums checked)
    or those saved in another ``directory``."""
    directory = Path(directory)
    if directory.resolve() == TEACHING_CHECKPOINTS.resolve():
        models = {
            k: create_model("mstar-mini", pretrained=k.replace("_", "-")) for k in ENCODER_NAMES
        }
        meta = models["stage2"].pretrained_cfg["metadata"]
        return _encoders(models, meta)
    missing = [k for k in ENCODER_NAMES if not (directory / f"{k}.pt").exists()]
    if missing:
        raise FileNotFoundError(
            f"no {', '.join(missing)} checkpoint in {directory}; "
            "make them with `medai-edu train slide-pretraining`"
        )
    models, meta = {}, {}
    for key in ENCODER_NAMES:
        models[key] = create_model("mstar-mini")
        meta = load_checkpoint(models[key], directory / f"{key}.pt")
        models[key].eval()
    return _encoders(models, meta)


def _encoders(models: dict, meta: dict) -> PretrainedEncoders:
    tokenizer = ReportTokenizer(int(meta["vocab_size"]))
    tokenizer.index = json.loads(meta["vocabulary"])
    return PretrainedEncoders(**models, tokenizer=tokenizer, losses=json.loads(meta["losses"]))


def train_teaching_checkpoints(
    directory=TEACHING_CHECKPOINTS, seed=0, n_slides=120, progress=True
) -> list[Path]:
    """Pretrain the four encoders on ``n_slides`` synthetic slides and save them: how the
    shipped checkpoints were made (``medai-edu train slide-pretraining``), with the same
    settings as the ``mstar.fidelity`` benchmark."""
    bags = make_slide_bags(n_slides, seed=seed, progress=progress)
    encoders = pretrain_all(bags, seed=seed)
    provenance = {
        "seed": seed,
        "n_slides": n_slides,
        "command": f"medai-edu train slide-pretraining --seed {seed}",
        "torch": str(torch.__version__),
    }
    return save_encoders(encoders, directory, **provenance)
