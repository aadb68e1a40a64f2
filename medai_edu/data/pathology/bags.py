"""Slides as bags of tiles: what mSTAR-mini pretrains on, and what MIL models and concept
models read (:class:`SlideBags`, :func:`make_slide_bags`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from medai_edu.data.pathology.config import BAG_SLIDE, CaseConfig, SlideConfig
from medai_edu.data.pathology.sites import make_sites
from medai_edu.data.pathology.slide import make_slide
from medai_edu.data.pathology.tiles import cut_tiles


@dataclass
class SlideBags:
    """Slides as bags of tiles, with everything mSTAR-mini pretrains and is tested on.

    tiles (S, N, 3, t, t) uint8; tile_mask (S, N) bool; grid (S, N, 2) long (row, col), -1 if
    padding; tile_region (S, N) long, each tile's majority tissue region (an index into
    ``REGION_CLASSES``, the ground truth for explanations), -1 if padding;
    tumour_type, grade, event (S,) long; months (S,) float; genes (S, G) float
    (standardised); patient (S,) long, the patient each slide came from (a patient may have
    several slides: split by patient, never by slide); site (S,) long, the hospital that
    stained and scanned it (-1 for none); stage (S,) long, TNM stage 1-4 (0 if not drawn);
    reports: S strings; concepts: the clinical concepts of each slide (name -> (S,) float,
    names as in ``CONCEPT_NAMES``: scores 0-2 and 0/1 flags, which concept-bottleneck
    models learn to predict); mpp: microns per pixel of the tiles.
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
    patient: torch.Tensor
    site: torch.Tensor
    stage: torch.Tensor
    reports: list[str]
    concepts: dict[str, torch.Tensor] = field(default_factory=dict)
    mpp: float = 1.0
    seed: torch.Tensor | None = None  # (S,) long, the case seed of each slide's patient
    section: torch.Tensor | None = None  # (S,) long, which block of the tumour
    recipe: dict = field(default_factory=dict, repr=False)  # how make_slide_bags drew them

    def __len__(self) -> int:
        return len(self.reports)

    def subset(self, index) -> SlideBags:
        index = torch.as_tensor(index)
        picked = {k: v[index] for k, v in vars(self).items() if isinstance(v, torch.Tensor)}
        concepts = {name: v[index] for name, v in self.concepts.items()}
        reports = [self.reports[int(i)] for i in index]
        return SlideBags(
            **picked, reports=reports, concepts=concepts, mpp=self.mpp, recipe=self.recipe
        )

    def float_tiles(self, index=slice(None)) -> torch.Tensor:
        return self.tiles[index].float().div_(255)

    def render(self, index: int):
        """The whole slide behind bag ``index`` (a :class:`SyntheticSlide`), drawn again
        from its seed, block and site: the bags keep only tiles.

        Raises
        ------
        ValueError
            If these bags were not made by :func:`make_slide_bags`.
        """
        if not self.recipe or self.seed is None:
            raise ValueError("these bags do not record how they were drawn: no slide to render")
        r = self.recipe
        sites = (
            make_sites(r["n_sites"], r["seed"], r["config"].stain_variation) if r["n_sites"] else []
        )
        site = int(self.site[index])
        return make_slide(
            int(self.seed[index]),
            r["config"],
            cases=r["cases"],
            section=int(self.section[index]),
            site=sites[site] if site >= 0 else None,
        )


def _patient_plan(n: int, seed: int, n_sites: int, slides_per_patient: int):
    """(patient, section, site) of each of ``n`` slides: 1 to ``slides_per_patient`` slides
    per patient (1 most often), every patient treated at one site."""
    rng = np.random.default_rng([int(seed), 5_150])
    weights = 0.5 ** np.arange(slides_per_patient)
    plan, patient = [], 0
    while len(plan) < n:
        k = 1 + int(rng.choice(slides_per_patient, p=weights / weights.sum()))
        site = int(rng.integers(n_sites)) if n_sites else -1
        plan += [(patient, section, site) for section in range(k)]
        patient += 1
    return plan[:n]


def make_slide_bags(
    n: int,
    seed: int = 0,
    config: SlideConfig = BAG_SLIDE,
    tile_size: int = 64,
    max_tiles: int = 64,
    progress: bool = False,
    cases: CaseConfig | None = None,
    n_sites: int = 3,
    slides_per_patient: int = 3,
) -> SlideBags:
    """Generate ``n`` slides from patients at ``n_sites`` hospitals and cut each into tiles.

    Every tissue tile (at least half tissue) is kept, up to ``max_tiles`` (a random subset
    beyond that). With the defaults a slide is 0.51 mm square at 1 µm/px and a 64-px tile
    covers 64 µm, about 40 tissue tiles per slide; 15 % of slides hold only a small tumour
    focus.

    Parameters
    ----------
    n : int
        Number of slides.
    seed : int
        Patients are drawn from seeds ``seed * 100_000 + p``; different ``seed`` values
        give different patients.
    config : SlideConfig
        Image size and resolution (:data:`BAG_SLIDE`; ``SMALL_SLIDE`` and ``max_tiles=48``
        with ``CaseConfig.original()``, no sites and one slide per patient reproduce the
        first generator's bags).
    cases : CaseConfig, optional
        How the cases are drawn (the realistic default).
    n_sites : int
        Hospitals, each with its own stain and scanner (0: every slide its own laboratory).
    slides_per_patient : int
        Most slides (blocks) one patient may have; 1 gives one slide per patient.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if slides_per_patient < 1 or n_sites < 0:
        raise ValueError(
            f"slides_per_patient must be >= 1 and n_sites >= 0, got {slides_per_patient!r}, "
            f"{n_sites!r}"
        )
    rng = np.random.default_rng(seed)
    sites = make_sites(n_sites, seed, config.stain_variation) if n_sites else []
    tiles = torch.zeros(n, max_tiles, 3, tile_size, tile_size, dtype=torch.uint8)
    mask = torch.zeros(n, max_tiles, dtype=torch.bool)
    grid = torch.full((n, max_tiles, 2), -1, dtype=torch.long)
    region = torch.full((n, max_tiles), -1, dtype=torch.long)
    rows = []
    plan = _patient_plan(n, seed, n_sites, slides_per_patient)
    for i, (patient, section, site) in enumerate(tqdm(plan, desc="slides", disable=not progress)):
        slide = make_slide(
            seed * 100_000 + patient,
            config,
            cases=cases,
            section=section,
            site=sites[site] if sites else None,
        )
        cut = cut_tiles(slide, tile_size, min_tissue=0.5)
        keep = np.sort(rng.permutation(len(cut.tiles))[:max_tiles])
        k = len(keep)
        tiles[i, :k] = torch.from_numpy(cut.tiles[keep]).permute(0, 3, 1, 2)
        mask[i, :k] = True
        grid[i, :k] = torch.from_numpy(cut.coords[keep][:, ::-1] // tile_size)
        region[i, :k] = torch.from_numpy(cut.labels[keep].astype(np.int64))
        rows.append((slide, patient, site))
    genes = torch.tensor(np.stack([r[0].genes for r in rows]), dtype=torch.float32)
    return SlideBags(
        tiles=tiles,
        tile_mask=mask,
        grid=grid,
        tile_region=region,
        tumour_type=torch.tensor([r[0].tumour_type for r in rows]),
        grade=torch.tensor([r[0].grade for r in rows]),
        event=torch.tensor([r[0].event for r in rows]),
        months=torch.tensor([r[0].survival_months for r in rows], dtype=torch.float32),
        genes=(genes - genes.mean(0)) / (genes.std(0) + 1e-6),
        patient=torch.tensor([r[1] for r in rows]),
        site=torch.tensor([r[2] for r in rows]),
        stage=torch.tensor([r[0].stage for r in rows]),
        reports=[r[0].report for r in rows],
        concepts={
            name: torch.tensor([float(r[0].concepts[name]) for r in rows])
            for name in rows[0][0].concepts
        },
        mpp=config.mpp,
        seed=torch.tensor([seed * 100_000 + r[1] for r in rows]),
        section=torch.tensor([r[0].section for r in rows]),
        recipe={"config": config, "cases": cases, "n_sites": n_sites, "seed": seed},
    )
