"""Cohorts of synthetic breast MRI cases: sampling, stacking, saving and loading.

Case ``i`` of a cohort is drawn from its own random stream, spawned from the seed: first
its truth (:mod:`.causal`), then its images (:mod:`.render`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from medai_edu.data.breast_mri.case import BreastMRICase
from medai_edu.data.breast_mri.causal import _sample_truth
from medai_edu.data.breast_mri.config import BreastMRIConfig
from medai_edu.data.breast_mri.render import _render_images
from medai_edu.data.breast_mri.vocabulary import CONCEPTS, LABELS

_ARRAY_FIELDS = ("dce", "t2", "dwi", "adc", "mask")
_SCALAR_FIELDS = (
    "malignant",
    "subtype",
    "pcr",
    "margin",
    "kinetic",
    "diffusion_restricted",
    "t2_hyperintense",
    "site",
    "lesion_radius_mm",
)


@dataclass
class BreastMRICohort:
    """A stack of cases: image arrays with a leading case axis N, and per-case labels.

    dce (N, P, Z, Y, X), t2 (N, Z, Y, X), dwi (N, 2, Z, Y, X), adc (N, Z, Y, X),
    mask (N, Z, Y, X) bool, and (N,) integer arrays for every label, concept and site.
    ``b_values`` holds each case's (b_low, b_high), shape (N, 2), in s/mm^2.
    """

    dce: np.ndarray
    t2: np.ndarray
    dwi: np.ndarray
    adc: np.ndarray
    mask: np.ndarray
    malignant: np.ndarray
    subtype: np.ndarray
    pcr: np.ndarray
    margin: np.ndarray
    kinetic: np.ndarray
    diffusion_restricted: np.ndarray
    t2_hyperintense: np.ndarray
    site: np.ndarray
    lesion_radius_mm: np.ndarray
    b_values: np.ndarray
    seed: int = 0
    config: BreastMRIConfig = field(default_factory=BreastMRIConfig)

    def __len__(self) -> int:
        return len(self.malignant)

    def labels(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in LABELS}

    def concepts(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in CONCEPTS}

    def case(self, i: int) -> BreastMRICase:
        values = {name: getattr(self, name)[i] for name in _ARRAY_FIELDS}
        values |= {name: getattr(self, name)[i].item() for name in _SCALAR_FIELDS}
        return BreastMRICase(
            **values,
            b_values=tuple(float(b) for b in self.b_values[i]),
            spacing_mm=self.config.spacing_mm,
            dce_times_min=self.config.dce_times_min,
        )

    def subset(self, index) -> BreastMRICohort:
        """Cases selected by an integer index array or a boolean mask."""
        index = np.asarray(index)
        arrays = {f.name: getattr(self, f.name)[index] for f in fields(self) if _is_per_case(f)}
        return replace(self, **arrays)

    def save(self, path: str | Path) -> Path:
        """Write a compressed ``.npz``; reload with :meth:`load`."""
        path = Path(path)
        arrays = {f.name: getattr(self, f.name) for f in fields(self) if _is_per_case(f)}
        np.savez_compressed(path, seed=self.seed, **arrays)
        return path if path.suffix == ".npz" else path.with_suffix(path.suffix + ".npz")

    @classmethod
    def load(cls, path: str | Path, config: BreastMRIConfig | None = None) -> BreastMRICohort:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no breast MRI cohort at {path}")
        try:
            with np.load(path) as data:
                arrays = {name: data[name] for name in data.files}
        except Exception as err:  # zip or pickle errors: say which file
            raise ValueError(f"{path} is not a readable breast MRI cohort (.npz): {err}") from err
        expected = {f.name for f in fields(cls) if _is_per_case(f)}
        if missing := expected - set(arrays):
            raise ValueError(f"{path} lacks fields {sorted(missing)}; was it made by medai-edu?")
        seed = int(arrays.pop("seed", 0))
        return cls(**arrays, seed=seed, config=config or BreastMRIConfig())


def _is_per_case(f) -> bool:
    return f.name not in ("seed", "config")


def _make_case(rng, config: BreastMRIConfig, fixed_concepts, fixed_site) -> BreastMRICase:
    """One case from one random stream: its truth first, then its images."""
    truth = _sample_truth(rng, config, fixed_concepts, fixed_site)
    images = _render_images(rng, config, truth)
    labels = asdict(truth) | {"lesion_radius_mm": float(truth.lesion_radius_mm)}
    del labels["look"]  # how the images look, not a label: the renderer's business
    return BreastMRICase(
        **images,
        **labels,
        spacing_mm=tuple(config.spacing_mm),
        dce_times_min=tuple(config.dce_times_min),
    )


def make_breast_mri_cohort(
    n: int,
    seed: int = 0,
    config: BreastMRIConfig | None = None,
    *,
    concepts: dict[str, int] | None = None,
    site: int | None = None,
    progress: bool = False,
) -> BreastMRICohort:
    """Generate ``n`` cases, deterministically from ``seed``.

    Case ``i`` depends only on (seed, i), so the first k cases of a cohort of n equal a
    cohort of k. ``concepts`` fixes some concepts for every case (an intervention, e.g.
    ``{"kinetic": 2}``); ``site`` puts every case in one hospital (external validation).
    """
    config = config or BreastMRIConfig()
    if n < 1:
        raise ValueError(f"n must be a positive number of cases, got {n}")
    if site is not None and not 0 <= site < len(config.sites):
        raise ValueError(f"site must be in 0..{len(config.sites) - 1}, got {site}")
    children = np.random.SeedSequence(seed).spawn(n)
    indices = range(n)
    if progress:
        from tqdm.auto import tqdm

        indices = tqdm(indices, desc="breast MRI cases", unit="case")
    cases = [
        _make_case(np.random.default_rng(children[i]), config, concepts, site) for i in indices
    ]
    stacked = {name: np.stack([getattr(c, name) for c in cases]) for name in _ARRAY_FIELDS}
    scalars = {name: np.array([getattr(c, name) for c in cases]) for name in _SCALAR_FIELDS}
    b_values = np.array([c.b_values for c in cases], dtype=np.float32)
    return BreastMRICohort(**stacked, **scalars, b_values=b_values, seed=seed, config=config)


def make_breast_mri_case(seed: int = 0, config: BreastMRIConfig | None = None, **kwargs):
    """A single case (the first of the cohort with this seed)."""
    return make_breast_mri_cohort(1, seed, config, **kwargs).case(0)
