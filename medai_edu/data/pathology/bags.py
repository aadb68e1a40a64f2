"""Slides as bags of tiles: what mSTAR-mini pretrains on, and what MIL models and concept
models read (:class:`SlideBags`, :func:`make_slide_bags`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from medai_edu.data.pathology.config import SMALL_SLIDE
from medai_edu.data.pathology.slide import make_slide
from medai_edu.data.pathology.tiles import cut_tiles


@dataclass
class SlideBags:
    """Slides as bags of tiles, with everything mSTAR-mini pretrains and is tested on.

    tiles (S, N, 3, t, t) uint8; tile_mask (S, N) bool; grid (S, N, 2) long (row, col), -1 if
    padding; tile_region (S, N) long, each tile's majority tissue region (an index into
    ``REGION_CLASSES``, the ground truth for explanations), -1 if padding;
    tumour_type, grade, event (S,) long; months (S,) float; genes (S, G) float
    (standardised); reports: S strings; concepts: the clinical concepts of each slide
    (name -> (S,) float, names as in ``CONCEPT_NAMES``: scores 0-2 and 0/1 flags, which
    concept-bottleneck models learn to predict).
    """

    tiles: torch.Tensor
    tile_mask: torch.Tensor
    grid: torch.Tensor
    tile_region: torch.Tensor
    tumour_type: torch.Tensor
    grade: torch.Tensor
    event: torch.Tensor
    months: torch.Tensor
    genes: torch.Tensor
    reports: list[str]
    concepts: dict[str, torch.Tensor] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.reports)

    def subset(self, index) -> SlideBags:
        index = torch.as_tensor(index)
        picked = {k: v[index] for k, v in vars(self).items() if isinstance(v, torch.Tensor)}
        concepts = {name: v[index] for name, v in self.concepts.items()}
        reports = [self.reports[int(i)] for i in index]
        return SlideBags(**picked, reports=reports, concepts=concepts)

    def float_tiles(self, index=slice(None)) -> torch.Tensor:
        return self.tiles[index].float().div_(255)


def make_slide_bags(n, seed=0, config=SMALL_SLIDE, tile_size=64, max_tiles=48, progress=False):
    """Generate ``n`` slides and cut each into at most ``max_tiles`` tissue tiles."""
    rng = np.random.default_rng(seed)
    tiles = torch.zeros(n, max_tiles, 3, tile_size, tile_size, dtype=torch.uint8)
    mask = torch.zeros(n, max_tiles, dtype=torch.bool)
    grid = torch.full((n, max_tiles, 2), -1, dtype=torch.long)
    region = torch.full((n, max_tiles), -1, dtype=torch.long)
    rows = []
    for i in tqdm(range(n), desc="slides", disable=not progress):
        slide = make_slide(seed * 100_000 + i, config)
        cut = cut_tiles(slide, tile_size, min_tissue=0.5)
        keep = np.sort(rng.permutation(len(cut.tiles))[:max_tiles])
        k = len(keep)
        tiles[i, :k] = torch.from_numpy(cut.tiles[keep]).permute(0, 3, 1, 2)
        mask[i, :k] = True
        grid[i, :k] = torch.from_numpy(cut.coords[keep][:, ::-1] // tile_size)
        region[i, :k] = torch.from_numpy(cut.labels[keep].astype(np.int64))
        rows.append((slide.labels, slide.genes, slide.report, slide.concepts))
    genes = torch.tensor(np.stack([r[1] for r in rows]), dtype=torch.float32)
    return SlideBags(
        tiles=tiles,
        tile_mask=mask,
        grid=grid,
        tile_region=region,
        tumour_type=torch.tensor([r[0]["tumour_type"] for r in rows]),
        grade=torch.tensor([r[0]["grade"] for r in rows]),
        event=torch.tensor([r[0]["event"] for r in rows]),
        months=torch.tensor([r[0]["survival_months"] for r in rows], dtype=torch.float32),
        genes=(genes - genes.mean(0)) / (genes.std(0) + 1e-6),
        reports=[r[2] for r in rows],
        concepts={name: torch.tensor([float(r[3][name]) for r in rows]) for name in rows[0][3]},
    )
