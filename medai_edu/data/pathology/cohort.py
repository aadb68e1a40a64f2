"""Cohorts on disk: many slides with their labels, concepts, reports, genes and masks."""

from __future__ import annotations

import csv
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from medai_edu.data.pathology.config import CaseConfig, SlideConfig
from medai_edu.data.pathology.genes import GENE_NAMES
from medai_edu.data.pathology.slide import SyntheticSlide, make_slide, write_slide
from medai_edu.data.pathology.vocabulary import (
    CONCEPT_NAMES,
    GRADES,
    REGION_CLASSES,
    SMALL_CELL,
    TUMOUR_TYPES,
)

MASK_DOWNSAMPLE = 4  # region masks are stored on disk at 1/4 of level-0 resolution


@dataclass
class SlideCohort:
    """A folder of synthetic slides with labels, concepts, reports, genes and region masks.

    Files under ``root``::

        slides/<slide_id>.tiff  pyramidal tiled TIFF (OpenSlide, tifffile)
        manifest.csv            one row per slide: slide_id, file, seed, labels, concepts,
                                report (multi-line, quoted)
        genes.npz               genes (N, G) float32, gene_names (G,), slide_ids (N,)
        masks.npz               region masks at 1 / mask_downsample resolution, by slide_id
        cohort.json             how the cohort was made (seed, config, class names)

    Per-slide arrays are indexed like ``slide_ids``.
    """

    root: Path
    slide_ids: list[str]
    files: list[Path]  # absolute paths of the TIFFs
    seeds: np.ndarray  # (N,) int64
    tumour_type: np.ndarray  # (N,) int64, index into TUMOUR_TYPES
    grade: np.ndarray  # (N,) int64
    survival_months: np.ndarray  # (N,) float64
    event: np.ndarray  # (N,) int64, 1 = death observed, 0 = censored
    stage: np.ndarray  # (N,) int64, TNM stage 1-4 (0 if drawn without staging)
    concepts: dict[str, np.ndarray]  # name -> (N,) array
    reports: list[str]
    genes: np.ndarray  # (N, G) float32
    gene_names: tuple[str, ...]
    mpp: float
    mask_downsample: int

    def __len__(self) -> int:
        return len(self.slide_ids)

    @classmethod
    def load(cls, root: str | Path) -> SlideCohort:
        """Read a cohort written by :func:`make_slide_cohort`.

        Raises
        ------
        FileNotFoundError
            If ``root`` lacks ``manifest.csv``, ``genes.npz`` or ``cohort.json``.
        """
        root = Path(root)
        for name in ("manifest.csv", "genes.npz", "cohort.json"):
            if not (root / name).is_file():
                raise FileNotFoundError(f"{root} is not a slide cohort: {name} is missing")
        with open(root / "manifest.csv", newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        info = json.loads((root / "cohort.json").read_text(encoding="utf-8"))
        genes = np.load(root / "genes.npz")

        def column(name, dtype):
            return np.array([dtype(float(row[name])) for row in rows])

        return cls(
            root=root,
            slide_ids=[row["slide_id"] for row in rows],
            files=[root / row["file"] for row in rows],
            seeds=column("seed", int),
            tumour_type=column("tumour_type", int),
            grade=column("grade", int),
            survival_months=column("survival_months", float),
            event=column("event", int),
            stage=column("stage", int) if rows and "stage" in rows[0] else np.zeros(len(rows), int),
            concepts={
                name: column(name, float if name == "tumour_fraction" else int)
                for name in CONCEPT_NAMES
            },
            reports=[row["report"] for row in rows],
            genes=genes["genes"],
            gene_names=tuple(str(g) for g in genes["gene_names"]),
            mpp=float(info["config"]["mpp"]),
            mask_downsample=int(info["mask_downsample"]),
        )

    def region_mask(self, index: int) -> np.ndarray:
        """Region mask of slide ``index``, shape about (H / d, W / d) with d = mask_downsample."""
        with np.load(self.root / "masks.npz") as masks:
            return masks[self.slide_ids[index]]

    def read_image(self, index: int, level: int = 0) -> np.ndarray:
        """RGB pixels (H_level, W_level, 3) uint8 of one pyramid level, read with tifffile."""
        import tifffile

        return tifffile.imread(self.files[index], series=0, level=level)

    def open_slide(self, index: int):
        """The slide as an ``openslide.OpenSlide`` (close it, or use it in a ``with``)."""
        import openslide

        return openslide.OpenSlide(self.files[index])


def _balanced_labels(
    n: int, rng: np.random.Generator, per_type: bool = False
) -> list[tuple[int, int]]:
    """(tumour type, grade) pairs: every block of 9 slides holds each pair once, shuffled.

    Under per-type grading small cell carcinoma is always grade 3, so a block holds each
    type three times: grades 1-3 of the other two, three grade-3 small cell carcinomas."""
    pairs = [(t, g) for t in range(len(TUMOUR_TYPES)) for g in GRADES]
    if per_type:
        pairs = [(t, 3 if t == SMALL_CELL else g) for t, g in pairs]
    blocks = [pairs[i] for _ in range(-(-n // len(pairs))) for i in rng.permutation(len(pairs))]
    return blocks[:n]


def _slide_seeds(n: int, seed: int) -> list[int]:
    """``n`` distinct 32-bit seeds derived from the cohort's seed."""
    seeds: list[int] = []
    for value in np.random.SeedSequence(seed).generate_state(n):
        value = int(value)
        while value in seeds:  # a 32-bit collision is rare, but ids must be unique
            value = (value + 1) % 2**32
        seeds.append(value)
    return seeds


def _manifest_row(slide: SyntheticSlide, file: Path) -> dict[str, object]:
    row: dict[str, object] = {"slide_id": slide.slide_id, "file": file.as_posix()}
    row.update(seed=slide.seed, tumour_type=slide.tumour_type)
    row.update(tumour_type_name=slide.tumour_type_name, grade=slide.grade)
    row.update(survival_months=slide.survival_months, event=slide.event, stage=slide.stage)
    row.update({name: slide.concepts[name] for name in CONCEPT_NAMES})
    row["report"] = slide.report
    return row


def make_slide_cohort(
    n: int,
    out_dir: str | Path,
    seed: int = 0,
    config: SlideConfig | None = None,
    progress: bool = True,
    cases: CaseConfig | None = None,
) -> SlideCohort:
    """Generate ``n`` slides into ``out_dir`` and return the cohort, reloaded from disk.

    Tumour types and grades are balanced: each block of 9 consecutive slides holds every
    (type, grade) pair once, in a shuffled order. The same ``seed`` and ``config`` give
    identical files. See :class:`SlideCohort` for the folder layout.

    Parameters
    ----------
    n : int
        Number of slides, >= 1.
    out_dir : str or Path
        Folder to write into (created; existing cohort files are overwritten).
    seed : int
        Cohort seed; slide seeds are derived from it.
    config : SlideConfig, optional
        Rendering settings for every slide.
    progress : bool
        Show a tqdm progress bar.
    cases : CaseConfig, optional
        How the cases are drawn (the realistic default; small cell carcinomas are then all
        grade 3).
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    config = SlideConfig() if config is None else config
    cases = CaseConfig() if cases is None else cases
    out_dir = Path(out_dir)
    (out_dir / "slides").mkdir(parents=True, exist_ok=True)
    labels = _balanced_labels(n, np.random.default_rng(seed), cases.grading == "per_type")
    rows, genes, masks = [], [], {}
    seeds = _slide_seeds(n, seed)
    for slide_seed, (tumour_type, grade) in tqdm(
        list(zip(seeds, labels, strict=True)), desc="slides", unit="slide", disable=not progress
    ):
        slide = make_slide(slide_seed, config, tumour_type=tumour_type, grade=grade, cases=cases)
        file = Path("slides") / f"{slide.slide_id}.tiff"
        write_slide(slide, out_dir / file)
        rows.append(_manifest_row(slide, file))
        genes.append(slide.genes)
        masks[slide.slide_id] = _stored_mask(slide.region_mask)
    _write_tables(out_dir, rows, genes, masks)
    info = _cohort_info(n, seed, config)
    (out_dir / "cohort.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    return SlideCohort.load(out_dir)


def _stored_mask(region_mask: np.ndarray) -> np.ndarray:
    """The region mask at 1 / MASK_DOWNSAMPLE resolution, as it is stored on disk."""
    half = MASK_DOWNSAMPLE // 2  # sample each block's centre pixel
    return region_mask[half::MASK_DOWNSAMPLE, half::MASK_DOWNSAMPLE]


def _write_tables(
    out_dir: Path,
    rows: list[dict[str, object]],
    genes: list[np.ndarray],
    masks: dict[str, np.ndarray],
) -> None:
    """Write ``manifest.csv``, ``genes.npz`` and ``masks.npz`` (see :class:`SlideCohort`)."""
    with open(out_dir / "manifest.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    ids = np.array([row["slide_id"] for row in rows])
    np.savez_compressed(
        out_dir / "genes.npz", genes=np.stack(genes), gene_names=np.array(GENE_NAMES), slide_ids=ids
    )
    np.savez_compressed(out_dir / "masks.npz", **masks)


def _cohort_info(n: int, seed: int, config: SlideConfig) -> dict[str, object]:
    """How the cohort was made, for ``cohort.json``."""
    return {
        "generator": "medai_edu.data.pathology",
        "seed": int(seed),
        "n": int(n),
        "config": dataclasses.asdict(config),
        "mask_downsample": MASK_DOWNSAMPLE,
        "region_classes": list(REGION_CLASSES),
        "tumour_types": list(TUMOUR_TYPES),
        "concepts": list(CONCEPT_NAMES),
    }
