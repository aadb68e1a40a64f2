"""The shipped teaching checkpoints: where they live, what each holds, how they are checked.

``create_model(name, pretrained=...)`` (:mod:`.registry`) loads them by name, as timm does::

    create_model("mome-mini", pretrained=True)         # MOME-mini trained on breast MRI
    create_model("mstar-mini", pretrained="stage2")    # mSTAR-mini after both stages
    create_model("meddr-mini", pretrained=True)        # MedDr-mini after instruction tuning

Each checkpoint is a ``state_dict`` with plain metadata (training history, provenance: seed,
data sizes, the command that made it), unpickled with ``weights_only=True`` so that a file
cannot run code. ``SHA256SUMS`` beside them records each file's checksum when ``make
checkpoints`` writes it (:func:`write_checksums`); a file that no longer matches, or is
missing, raises an error that names the command that remakes it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import torch

from medai_edu.vocabulary import MRI_SEQUENCES

#: The package data folder of the shipped checkpoints.
CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"
CHECKSUMS = CHECKPOINTS / "SHA256SUMS"


@dataclass(frozen=True)
class Pretrained:
    """One shipped checkpoint: its file under :data:`CHECKPOINTS`, the model's config and the
    command that makes it."""

    file: str
    command: str
    config: dict = field(default_factory=dict)


_FUSION = "medai-edu train breast-fusion"
_SLIDES = "medai-edu train slide-pretraining"
#: (model name, tag) -> what ``create_model(name, pretrained=tag)`` loads.
PRETRAINED: dict[tuple[str, str], Pretrained] = {
    ("mome-mini", "breast-mri"): Pretrained("breast-fusion/mome-mini.pt", _FUSION),
    ("mri-cnn", "early-fusion"): Pretrained("breast-fusion/early-fusion.pt", _FUSION),
    **{
        ("mri-cnn", sequence): Pretrained(
            f"breast-fusion/{sequence}.pt", _FUSION, {"modalities": [sequence]}
        )
        for sequence in MRI_SEQUENCES
    },
    **{
        ("mstar-mini", tag): Pretrained(f"slide-pretraining/{tag.replace('-', '_')}.pt", _SLIDES)
        for tag in ("stage1", "stage2", "tiles-only", "random")
    },
    ("meddr-mini", "generalist"): Pretrained(
        "generalist/meddr-mini.pt", "medai-edu train generalist"
    ),
    # the demo's slide model: stage 2 with its tumour-type head fitted, and (metadata) the
    # report archive and the tokenizer's vocabulary
    ("mstar-mini", "tumour-type"): Pretrained("demo/slide-classifier.pt", "medai-edu train demo"),
}
#: What ``pretrained=True`` means for each model.
DEFAULT_TAG = {"mome-mini": "breast-mri", "mstar-mini": "stage2", "meddr-mini": "generalist"}


def same_file(path: str | Path, shipped: Path) -> bool:
    """Whether ``path`` names the shipped file or folder ``shipped`` (so a loader given the
    shipped location explicitly still checks its checksums)."""
    return Path(path).resolve() == shipped.resolve()


def pretrained_tags(name: str) -> list[str]:
    """The tags ``create_model(name, pretrained=...)`` accepts."""
    return [tag for model, tag in PRETRAINED if model == name]


def resolve(name: str, pretrained: bool | str) -> tuple[str, Pretrained]:
    """``(tag, entry)`` for ``pretrained`` (True: the model's default tag)."""
    tag = DEFAULT_TAG.get(name) if pretrained is True else pretrained
    if not isinstance(tag, str) or (name, tag) not in PRETRAINED:
        tags = ", ".join(repr(t) for t in pretrained_tags(name)) or "none"
        raise ValueError(
            f"no shipped checkpoint {pretrained!r} for {name!r} (pretrained= takes True or "
            f"one of: {tags})"
        )
    return tag, PRETRAINED[(name, tag)]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def recorded_checksums() -> dict[str, str]:
    """file (relative to :data:`CHECKPOINTS`) -> SHA-256, as ``make checkpoints`` wrote them."""
    if not CHECKSUMS.exists():
        return {}
    sums = {}
    for line in CHECKSUMS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.strip()] = digest
    return sums


def write_checksums() -> Path:
    """Record the SHA-256 of every shipped checkpoint (run after ``make checkpoints``)."""
    files = sorted(p for p in CHECKPOINTS.rglob("*") if p.is_file() and p != CHECKSUMS)
    lines = [f"{sha256(p)}  {p.relative_to(CHECKPOINTS).as_posix()}" for p in files]
    CHECKSUMS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return CHECKSUMS


def verified_path(entry: Pretrained) -> Path:
    """The checkpoint's file, after checking it is there and unchanged since it was made."""
    path = CHECKPOINTS / entry.file
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint {path}; make it with `{entry.command}`")
    expected = recorded_checksums().get(entry.file)
    if expected is None:
        raise ValueError(f"{path} has no recorded checksum in {CHECKSUMS}: run `make checkpoints`")
    if sha256(path) != expected:
        raise ValueError(
            f"{path} changed since `make checkpoints` recorded it (SHA-256 differs); "
            f"remake it with `{entry.command}`"
        )
    return path


def read_checkpoint(path: str | Path) -> tuple[dict, dict]:
    """``(state_dict, metadata)`` of a medai-edu checkpoint file (``weights_only``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated, not a zip, pickled code: all unreadable
        raise ValueError(f"{path} is not a readable medai-edu checkpoint: {err}") from err
    if not isinstance(payload, dict) or "state_dict" not in payload:
        raise ValueError(f"{path} is not a medai-edu checkpoint (no 'state_dict' inside)")
    return payload["state_dict"], payload.get("metadata", {})
