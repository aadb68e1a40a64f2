"""Everything the demo app needs, ready without waiting: models, archives and examples.

The four models come from the shipped teaching checkpoints (``medai_edu/checkpoints``).
What only the demo needs is made once by ``medai-edu train demo`` (seed 0, about four
minutes on 2 CPU cores) and shipped in ``medai_edu/checkpoints/demo/`` (about 3 MB):

* ``slide-classifier.pt``: mSTAR-mini's stage-2 encoder with a tumour-type head fitted on
  its frozen slide embeddings, and the reports of those training slides (the archive the
  "most similar reports" come from);
* ``mri-concepts.pt`` and ``slide-concepts.pt``: XAIM-mini's concept bottlenecks;
* ``generalist-archive.npz``: the images and diagnoses of MedDr-mini's training cases, the
  retrieval archive (drawing the pathology ones takes 90 s, so they are stored).

The example cases are drawn from :data:`EXAMPLE_SEED` at start-up (about 2 s); the example
slides are written as pyramidal TIFFs into the user cache on first use, with a progress
bar, and read back through the same path as an upload.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from medai_edu.paths import cache_dir

DEMO_CHECKPOINTS = Path(__file__).resolve().parent.parent / "checkpoints" / "demo"
#: The examples shown in the app: breast MRI case i of ``make_breast_mri_cohort(n, seed)``,
#: slide i of seed ``EXAMPLE_SEED * 100_000 + i``; MedDr-mini's examples are the 2D views of
#: the same cases (``make_image_cases(modality, n, EXAMPLE_SEED)``).
EXAMPLE_SEED = 7
N_EXAMPLES = 4


@dataclass
class SlideModel:
    """mSTAR-mini with its tumour-type head, and the report archive for retrieval."""

    model: torch.nn.Module
    tokenizer: object  # ReportTokenizer
    reports: list[str]
    report_embeddings: torch.Tensor  # (R, E), unit length
    classes: tuple[str, ...]


@dataclass
class DemoModels:
    """What the demo app serves; see :func:`load_demo_models`."""

    mome: torch.nn.Module
    slides: SlideModel
    generalist: torch.nn.Module
    tokenizer: object  # CourseTokenizer
    index: object  # RetrievalIndex
    archive: dict  # modality -> ImageCases
    mri_concepts: object  # ConceptModel
    slide_concepts: object  # ConceptModel
    # Copies of MOME-mini and mSTAR-mini for explanations only: attribution methods hook
    # into a model while they run, and must not see other users' predictions go through it.
    explained: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- training


def train_demo_checkpoints(directory=DEMO_CHECKPOINTS, seed: int = 0, progress=True) -> list[Path]:
    """Make the demo's own checkpoints (``medai-edu train demo``): see the module docstring.

    The slides are those XAIM-mini's slide concepts are fitted on (240, seed ``seed + 1``,
    all tiles); the MRI concepts see 800 new cases; the archive holds MedDr-mini's training
    cases (300 per modality, seed ``10 * seed + 1``, as ``medai-edu train generalist``).
    """
    from medai_edu.data.instructions import MODALITIES, make_image_cases
    from medai_edu.experiments.explanations import fit_slide_classifier
    from medai_edu.experiments.slide_pretraining import load_encoders, make_slide_bags
    from medai_edu.explain.concept_models import (
        ALL_TILES,
        fit_mri_concepts,
        fit_slide_concepts,
    )
    from medai_edu.train import save_checkpoint

    directory = Path(directory)
    torch.manual_seed(seed)
    provenance = {
        "seed": seed,
        "command": f"medai-edu train demo --seed {seed}",
        "torch": str(torch.__version__),
    }
    encoders = load_encoders()
    bags = make_slide_bags(240, seed=seed + 1, max_tiles=ALL_TILES, progress=progress)
    classifier = fit_slide_classifier(encoders.stage2, bags, seed=seed)
    paths = [
        save_checkpoint(
            classifier,
            directory / "slide-classifier.pt",
            reports=json.dumps(bags.reports),
            vocabulary=json.dumps(encoders.tokenizer.index),
            vocab_size=encoders.tokenizer.vocab_size,
            n_slides=len(bags),
            **provenance,
        )
    ]
    slide_concepts = fit_slide_concepts(bags, encoders.stage2, seed=seed)
    paths.append(
        save_checkpoint(slide_concepts.bottleneck, directory / "slide-concepts.pt", **provenance)
    )
    mri = fit_mri_concepts(seed=seed, progress=progress)
    pair = torch.nn.ModuleDict({"extractor": mri.extractor, "bottleneck": mri.bottleneck})
    paths.append(save_checkpoint(pair, directory / "mri-concepts.pt", **provenance))
    archive = {}
    for modality in tqdm(MODALITIES, desc="retrieval archive", disable=not progress):
        cases = make_image_cases(modality, 300, 10 * seed + 1)
        archive[f"{modality}/images"] = np.round(cases.images * 255).astype(np.uint8)
        archive[f"{modality}/diagnosis"] = cases.diagnosis
    path = directory / "generalist-archive.npz"
    np.savez_compressed(path, **archive, provenance=json.dumps(provenance))
    return [*paths, path]


# --------------------------------------------------------------------------- loading


def _demo_checkpoint(file: str) -> tuple[dict, dict]:
    """``(state_dict, metadata)`` of a demo checkpoint, its SHA-256 checked as the teaching
    checkpoints' are (the demo's files are recorded in ``SHA256SUMS`` too)."""
    from medai_edu.models.pretrained import Pretrained, read_checkpoint, verified_path

    return read_checkpoint(verified_path(Pretrained(f"demo/{file}", "medai-edu train demo")))


def _slide_model() -> SlideModel:
    """mSTAR-mini with its tumour-type head, and its report archive embedded."""
    from medai_edu.data.pathology import TUMOUR_TYPES
    from medai_edu.models import ReportTokenizer, create_model

    model = create_model("mstar-mini", pretrained="tumour-type")
    meta = model.pretrained_cfg["metadata"]
    tokenizer = ReportTokenizer(int(meta["vocab_size"]))
    tokenizer.index = json.loads(meta["vocabulary"])
    reports = json.loads(meta["reports"])
    with torch.no_grad():
        embeddings = model.eval().report_encoder(tokenizer.transform(reports))
    unit = torch.nn.functional.normalize(embeddings, dim=-1)
    return SlideModel(model, tokenizer, reports, unit, tuple(TUMOUR_TYPES))


def _concept_models() -> tuple:
    """(MRI ConceptModel, slide ConceptModel) of XAIM-mini.

    Not registered models: each pairs a feature extractor (a lesion CNN; mSTAR-mini's
    stage-2 encoder) with a concept bottleneck fitted for the demo, so both are rebuilt
    from their specs and loaded here.
    """
    from medai_edu.experiments.slide_pretraining import load_encoders
    from medai_edu.explain.concept_models import (
        MRI_SPEC,
        SLIDE_SPEC,
        ConceptModel,
        LesionConceptNet,
        mri_concept_features,
        slide_concept_features,
    )
    from medai_edu.explain.concepts import ConceptBottleneck

    net = LesionConceptNet(MRI_SPEC)
    pair = torch.nn.ModuleDict(
        {"extractor": net, "bottleneck": ConceptBottleneck(MRI_SPEC, net.n_features)}
    )
    pair.load_state_dict(_demo_checkpoint("mri-concepts.pt")[0])
    encoder = load_encoders().stage2
    width = encoder.config.dim + 2 * encoder.config.feature_dim
    slide_bottleneck = ConceptBottleneck(SLIDE_SPEC, width)
    slide_bottleneck.load_state_dict(_demo_checkpoint("slide-concepts.pt")[0])
    mri = ConceptModel(net.eval(), pair["bottleneck"].eval(), mri_concept_features)
    slides = ConceptModel(encoder, slide_bottleneck.eval(), slide_concept_features)
    return mri, slides


def load_archive(directory=DEMO_CHECKPOINTS) -> dict:
    """MedDr-mini's retrieval archive: modality -> ImageCases (images in [0, 1])."""
    from medai_edu.data.instructions import CONCEPT_VALUES, DIAGNOSES, MODALITIES, ImageCases

    path = Path(directory) / "generalist-archive.npz"
    if not path.exists():
        raise FileNotFoundError(f"no demo archive {path}; make it with `medai-edu train demo`")
    stored = np.load(path)
    archive = {}
    for m in MODALITIES:
        diagnosis = stored[f"{m}/diagnosis"]
        archive[m] = ImageCases(
            modality=m,
            images=stored[f"{m}/images"].astype(np.float32) / 255,
            diagnosis=diagnosis,
            diagnoses=DIAGNOSES[m],
            concepts={},
            concept_values=dict(CONCEPT_VALUES[m]),
            case_ids=[f"{m}-archive-{i:04d}" for i in range(len(diagnosis))],
        )
    return archive


def load_demo_models() -> DemoModels:
    """Load every model of the demo from the shipped checkpoints (a few seconds)."""
    from medai_edu.experiments.generalist import RetrievalIndex, load_generalist
    from medai_edu.models import create_model

    generalist, tokenizer, _ = load_generalist()
    archive = load_archive()
    mri_concepts, slide_concepts = _concept_models()
    mome, slides = create_model("mome-mini", pretrained=True), _slide_model()
    return DemoModels(
        mome=mome,
        slides=slides,
        generalist=generalist,
        tokenizer=tokenizer,
        index=RetrievalIndex.build(generalist, archive),
        archive=archive,
        mri_concepts=mri_concepts,
        slide_concepts=slide_concepts,
        explained={"mome-mini": copy.deepcopy(mome), "mstar-mini": copy.deepcopy(slides.model)},
    )


# --------------------------------------------------------------------------- examples


@dataclass
class Examples:
    """The bundled example cases: breast MRI cases, slide files, MedDr-mini's images."""

    mri: object  # BreastMRICohort
    slide_files: list[Path]
    images: dict  # modality -> ImageCases

    def mri_labels(self) -> list[str]:
        return [f"MRI case {i + 1}" for i in range(len(self.mri))]

    def slide_labels(self) -> list[str]:
        return [f"slide {i + 1}" for i in range(len(self.slide_files))]


def example_slides(n: int = N_EXAMPLES, folder: Path | None = None) -> list[Path]:
    """The example slides as pyramidal TIFFs in the user cache, written on first use."""
    from medai_edu.data.pathology import SMALL_SLIDE, make_slide, write_slide

    folder = Path(folder or cache_dir() / "demo-examples")
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"example-slide-{i + 1}.tif" for i in range(n)]
    missing = [i for i, p in enumerate(paths) if not p.exists()]
    for i in tqdm(missing, desc="example slides", disable=not missing):
        slide = make_slide(EXAMPLE_SEED * 100_000 + i, SMALL_SLIDE)
        partial = paths[i].with_suffix(".part")
        write_slide(slide, partial)
        partial.replace(paths[i])  # never leave a half-written example behind
    return paths


def load_examples(n: int = N_EXAMPLES) -> Examples:
    """Draw the example cases (about 2 s) and make sure the example slides exist."""
    from medai_edu.data.breast_mri import make_breast_mri_cohort
    from medai_edu.data.instructions import MODALITIES, make_image_cases

    return Examples(
        mri=make_breast_mri_cohort(n, seed=EXAMPLE_SEED),
        slide_files=example_slides(n),
        images={m: make_image_cases(m, n, EXAMPLE_SEED) for m in MODALITIES},
    )
