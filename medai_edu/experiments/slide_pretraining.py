"""mSTAR-mini's two pretraining stages and its downstream tests, on synthetic slides.

The comparison of the paper, in miniature: few-shot slide classification with the patch
encoder (a) at random weights, (b) pretrained on tiles alone (SimCLR, no text or genes),
(c) after stage 1 (slide, report and genes aligned through the aggregator), (d) after stage
2 (the frozen stage-1 model taught the patch encoder, tile by tile); the four encoders'
checkpoints. The fair comparison (the same slide heads for every encoder, paired few-shot
draws, survival by cross-validation, zero-shot) is in :mod:`.slide_evaluation`; the
downstream probes (retrieval, survival, MIL, attention) in :mod:`.slide_probes`. The
benchmark and the labs call these functions.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

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
from medai_edu.train import device_of, load_checkpoint, save_checkpoint, train_steps

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
    report_weight=0.5,
    device: torch.device | str | None = None,
):
    """Stage 2 ("self-taught"): the frozen stage-1 model teaches the patch encoder.

    Our reading of mSTAR's stage 2: the teacher is the stage-1 model, frozen (patch encoder
    and aggregator). It reads every tile of a slide, and its aggregator gives each tile a
    token that has seen the whole slide (and, through stage 1, the report and genes). The
    student (the patch encoder, trained) must predict, from a tile alone, that tile's
    token: cosine distance through a small linear predictor, which is discarded afterwards.
    So slide-level knowledge moves into the features of single tiles. The student's
    features of ``tiles_per_slide`` tiles still pass through the frozen aggregator, and
    the slide embedding must keep matching the report (``report_weight``, contrastive).

    The target is a contextualised token, not the teacher's own tile feature, so student
    and teacher differ from step 0 and the distillation term has a gradient at once (a
    copy of the model as teacher would give none). Returns the losses.

    device: where to train (None: the CPU); the model is moved there and stays there."""
    device = torch.device(device or "cpu")
    model.to(device)
    targets = _teacher_tokens(model, bags)  # (S, N, D), on the CPU
    for p in model.parameters():
        p.requires_grad_(False)
    for p in model.patch_encoder.parameters():
        p.requires_grad_(True)
    dim = model.config.feature_dim
    predictor = torch.nn.Linear(dim, dim).to(device)
    slides = _tile_subsets(bags, tokenizer.transform(bags.reports), targets, batch, tiles_per_slide)
    params = [*model.patch_encoder.parameters(), *predictor.parameters()]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    history = train_steps(
        model,
        slides,
        self_taught_loss(predictor, report_weight),
        steps=steps,
        optimizer=optimizer,
        device=device,
        desc="stage 2 (self-taught)",
    )
    for p in model.parameters():
        p.requires_grad_(True)
    return history["train_loss"]


@torch.no_grad()
def _teacher_tokens(model: MSTARMini, bags: SlideBags, chunk: int = 16) -> torch.Tensor:
    """(S, N, D) the frozen stage-1 aggregator's token of every tile, each slide read whole."""
    features = patch_features(model, bags)
    device = device_of(model)
    parts = []
    for i in range(0, len(bags), chunk):
        rows = slice(i, i + chunk)
        tokens = model.tile_tokens(
            features[rows].to(device), bags.tile_mask[rows].to(device), bags.grid[rows].to(device)
        )
        parts.append(tokens.cpu())
    return torch.cat(parts)


def _tile_subsets(
    bags: SlideBags, tokens: torch.Tensor, targets: torch.Tensor, batch: int, tiles_per_slide: int
):
    """Batches for stage 2: ``step -> (tiles, report tokens, target tokens)`` of
    ``tiles_per_slide`` random tiles of ``batch`` random slides (a fresh draw each step)."""

    def draw(step: int) -> tuple[dict, torch.Tensor, torch.Tensor]:
        pick = torch.randperm(len(bags))[:batch]
        order = torch.rand(len(pick), bags.tiles.shape[1]).masked_fill(~bags.tile_mask[pick], 2)
        chosen = order.argsort(dim=1)[:, :tiles_per_slide]
        rows = pick[:, None]
        sub = {
            "tiles": bags.tiles[rows, chosen].float() / 255,
            "tile_mask": bags.tile_mask[rows, chosen],
            "grid": bags.grid[rows, chosen],
        }
        return sub, tokens[pick], targets[rows, chosen]

    return draw


def self_taught_loss(predictor: torch.nn.Module, report_weight: float = 0.5):
    """``(student, batch) -> loss`` of stage 2: per tile, ``1 - cos(predictor(feature),
    teacher token)``, plus ``report_weight`` times the slide-report contrastive loss
    through the frozen aggregator (see :func:`train_stage2`)."""

    def loss(model, batch) -> torch.Tensor:
        sub, report_tokens, target = batch
        mask = sub["tile_mask"]
        model.eval()  # dropout off in the frozen parts; the encoder's BatchNorm trains:
        model.patch_encoder.train()
        features = model.encode_tiles(sub["tiles"], mask)  # (B, n, D)
        predicted = predictor(features[mask])  # (tiles, D)
        distil = 1 - F.cosine_similarity(predicted, target[mask], dim=-1).mean()
        if not report_weight:
            return distil
        with torch.no_grad():
            report = model.report_encoder(report_tokens)
        slide, _ = model.encode_slide(features, mask, sub["grid"])
        return distil + report_weight * contrastive_loss(slide, report, model.config.temperature)

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
    head: str = "mean",
    draws: int = 20,
    progress: bool = False,
):
    """Rows {encoder, head, shots, auroc, low, high} for few-shot slide classification by
    ``label`` (tumour_type or grade): every encoder read by the same ``head`` (``"mean"``:
    tile features averaged, logistic regression; ``"abmil"``: a fresh attention-MIL head),
    on the same k slides per class at each of ``draws`` draws; auroc is the mean over
    draws, low / high the 2.5 and 97.5 percentiles. Shots above the rarest class's count
    are skipped."""
    from medai_edu.experiments.slide_evaluation import (
        encoder_features,
        few_shot_draws,
        summarise_draws,
    )

    if head not in ("mean", "abmil"):
        raise ValueError(f"head must be 'mean' or 'abmil', got {head!r}")
    models = {ENCODER_NAMES[key]: getattr(encoders, key) for key in ENCODER_NAMES}
    rows = few_shot_draws(
        encoder_features(models, train), train, encoder_features(models, test), test,
        label=label, shots=shots, draws=draws, heads=(head,), oracle=False, progress=progress,
    )  # fmt: skip
    return summarise_draws(rows)


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
