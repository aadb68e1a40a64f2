"""mSTAR-mini's two pretraining stages and its downstream tests, on synthetic slides.

The comparison of the paper, in miniature: few-shot slide classification with the patch
encoder (a) at random weights, (b) pretrained on tiles alone (SimCLR, no text or genes),
(c) after stage 1 (slide, report and genes aligned through the aggregator), (d) after stage
2 (the frozen aggregator taught the patch encoder); the four encoders' checkpoints. The
downstream tests (few-shot probes, survival, retrieval, MIL) are in :mod:`.slide_probes`.
The benchmark and the lab call these functions.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from medai_edu.data.pathology import SlideBags, make_slide_bags
from medai_edu.experiments.slide_probes import (  # noqa: F401 - re-exported: sp.X finds them
    attention_heatmap,
    few_shot_auroc,
    patch_features,
    predict_slides,
    retrieval_recall,
    slide_embeddings,
    survival_cindex,
    train_mil,
)
from medai_edu.models import create_model
from medai_edu.models.mstar import (
    MSTARMini,
    ReportTokenizer,
    contrastive_loss,
    stage1_loss,
)
from medai_edu.models.pretrained import CHECKPOINTS, same_file
from medai_edu.train import load_checkpoint, save_checkpoint, train_steps

#: Where the shipped mSTAR-mini teaching checkpoints live (``medai-edu train
#: slide-pretraining`` remakes them).
TEACHING_CHECKPOINTS = CHECKPOINTS / "slide-pretraining"

# Every recipe below draws its random picks and builds its batches on the CPU, and
# train_steps moves them to the device: CPU results do not depend on the device argument.

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
    model.to(device)  # the whole model moves; the encoder trains
    projector = torch.nn.Sequential(torch.nn.Linear(model.config.feature_dim, 64))
    learner = torch.nn.Sequential(model.patch_encoder, projector)
    pool = bags.tiles[bags.tile_mask]

    def two_views(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        tiles = pool[torch.randint(len(pool), (batch,))].float() / 255
        return _augment(tiles), _augment(tiles)

    def loss(learner, views) -> torch.Tensor:
        return contrastive_loss(learner(views[0]), learner(views[1]), temperature=0.2)

    history = train_steps(
        learner,
        two_views,
        loss,
        steps=steps,
        lr=lr,
        weight_decay=1e-4,
        device=device,
        desc="tiles alone (SimCLR)",
    )
    return history["train_loss"]


# --------------------------------------------------------------------------- stage 1


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

    def slides(step: int) -> dict:
        pick = torch.randperm(len(bags))[:batch]
        return {
            "features": features[pick],
            "tile_mask": bags.tile_mask[pick],
            "grid": bags.grid[pick],
            "report_tokens": tokens[pick],
            "genes": bags.genes[pick],
        }

    def loss(model, inputs) -> torch.Tensor:
        model.patch_encoder.eval()  # frozen, and unused: the features are precomputed
        return stage1_loss(model(inputs), model.config.temperature)

    optimizer = torch.optim.AdamW(trainable, lr=lr, weight_decay=1e-4)
    history = train_steps(
        model, slides, loss, steps=steps, optimizer=optimizer, device=device, desc="stage 1"
    )
    return history["train_loss"]


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
    slides = _tile_subsets(bags, tokenizer.transform(bags.reports), batch, tiles_per_slide)
    optimizer = torch.optim.AdamW(model.patch_encoder.parameters(), lr=lr, weight_decay=1e-4)
    history = train_steps(
        model,
        slides,
        _self_taught_loss(teacher),
        steps=steps,
        optimizer=optimizer,
        device=device,
        desc="stage 2 (self-taught)",
    )
    for p in model.parameters():
        p.requires_grad_(True)
    return history["train_loss"]


def _tile_subsets(bags: SlideBags, tokens: torch.Tensor, batch: int, tiles_per_slide: int):
    """Batches for stage 2: ``step -> (tiles, report tokens)`` of ``tiles_per_slide`` random
    tiles of ``batch`` random slides (a fresh draw each step)."""

    def draw(step: int) -> tuple[dict, torch.Tensor]:
        pick = torch.randperm(len(bags))[:batch]
        order = torch.rand(len(pick), bags.tiles.shape[1]).masked_fill(~bags.tile_mask[pick], 2)
        chosen = order.argsort(dim=1)[:, :tiles_per_slide]
        rows = pick[:, None]
        sub = {
            "tiles": bags.tiles[rows, chosen].float() / 255,
            "tile_mask": bags.tile_mask[rows, chosen],
            "grid": bags.grid[rows, chosen],
        }
        return sub, tokens[pick]

    return draw


def _self_taught_loss(teacher: MSTARMini):
    """``(student, batch) -> loss``: the student's slide embedding should match the frozen
    teacher's (cosine) and the slide's own report (contrastive)."""

    def loss(model, batch) -> torch.Tensor:
        sub, report_tokens = batch
        with torch.no_grad():
            target = teacher(sub)["slide"]
            report = teacher.report_encoder(report_tokens)
        model.eval()  # dropout off in the frozen parts; the encoder's BatchNorm trains:
        model.patch_encoder.train()
        student = model(sub)["slide"]
        return (1 - F.cosine_similarity(student, target).mean()) + contrastive_loss(
            student, report, model.config.temperature
        )

    return loss


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
#: The shipped encoders' tags: ``create_model("mstar-mini", pretrained=tag)``.
TAGS = {key: key.replace("_", "-") for key in ENCODER_NAMES}


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


def load_encoders(directory: str | Path | None = None) -> PretrainedEncoders:
    """The four encoders of the comparison, in evaluation mode on the CPU: the shipped ones
    (``create_model("mstar-mini", pretrained=tag)``, checksums checked), or those
    :func:`save_encoders` wrote in ``directory``."""
    if directory is None or same_file(directory, TEACHING_CHECKPOINTS):
        models = {k: create_model("mstar-mini", pretrained=tag) for k, tag in TAGS.items()}
        return _encoders(models, models["stage2"].pretrained_cfg["metadata"])
    return _read_encoders(Path(directory))


def _read_encoders(directory: Path) -> PretrainedEncoders:
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
