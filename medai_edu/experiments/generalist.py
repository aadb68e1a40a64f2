"""MedDr-mini end to end: bootstrapped instructions, pretraining, LoRA instruction tuning,
retrieval-augmented diagnosis and generalist-specialist collaboration (GSCo).

The recipe of MedDr (arXiv 2404.15127), in miniature:

1. **Pretraining**: the vision encoder, projector and decoder learn, from scratch, to answer
   the instructions :mod:`medai_edu.data.instructions` bootstraps from labels (visual
   questions, multiple-choice diagnosis, short reports).
2. **Instruction tuning with LoRA** (peft): the base model is frozen but for its token and
   position embeddings; low-rank adapters in the decoder learn to use what the prompt
   adds: the diagnoses of the most similar training cases (retrieval) and a specialist's
   guidance (GSCo): its prediction and the similar cases it finds by its own features.
3. **Inference**: the same prompt, with or without retrieval and specialist; the answer is
   generated and parsed back to a diagnosis.

The prompt is plain text, ``image: breast mri. similar cases: malignant 4 of 5, benign 1 of
5. specialist mome-mini: malignant (0.91). question: ... answer:``, after the image's
visual tokens.

The parts: :mod:`.generalist_prompts` (prompts, examples, tokenizer),
:mod:`.generalist_retrieval`, :mod:`.generalist_specialists`, :mod:`.generalist_training`
(the two stages; LoRA is :mod:`medai_edu.models.lora`), :mod:`.generalist_inference` and
:mod:`.generalist_scoring`. This module holds the end-to-end recipe and its checkpoint.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from medai_edu.data.instructions import MODALITIES, ImageCases
from medai_edu.experiments.generalist_inference import (
    DiagnosisRun,
    answer,
    diagnose,
    write_reports,
)
from medai_edu.experiments.generalist_prompts import (
    Example,
    build_prompt,
    collate,
    context,
    diagnosis_question,
    encode_example,
    fit_tokenizer,
    options_of,
    pretraining_examples,
    summarise_retrieved,
    tuning_examples,
)
from medai_edu.experiments.generalist_retrieval import RetrievalIndex, image_embeddings
from medai_edu.experiments.generalist_scoring import report_scores
from medai_edu.experiments.generalist_specialists import (
    Specialist,
    consult,
    mome_specialist,
    mstar_specialists,
)
from medai_edu.experiments.generalist_training import instruction_tune, pretrain
from medai_edu.models import LORA_TARGETS, add_lora, create_model
from medai_edu.models.lora import EMBEDDINGS
from medai_edu.models.meddr import MedDrMini
from medai_edu.models.pretrained import CHECKPOINTS, PRETRAINED, same_file
from medai_edu.models.tokenizer import CourseTokenizer
from medai_edu.train import load_checkpoint, save_checkpoint

#: The recipe's parts live in the ``generalist_*`` modules; this one holds the end-to-end
#: recipe and its checkpoint, and re-exports the parts so that ``generalist.X`` finds them.
__all__ = [
    # prompts and examples
    "Example",
    "build_prompt",
    "collate",
    "context",
    "diagnosis_question",
    "encode_example",
    "fit_tokenizer",
    "options_of",
    "pretraining_examples",
    "summarise_retrieved",
    "tuning_examples",
    # retrieval and specialists
    "RetrievalIndex",
    "Specialist",
    "consult",
    "image_embeddings",
    "mome_specialist",
    "mstar_specialists",
    # training
    "EMBEDDINGS",
    "LORA_TARGETS",
    "add_lora",
    "instruction_tune",
    "pretrain",
    # inference and scores
    "SETTINGS",
    "DiagnosisRun",
    "accuracy_table",
    "answer",
    "diagnose",
    "report_scores",
    "write_reports",
    # end to end
    "GeneralistData",
    "TEACHING_CHECKPOINT",
    "TEACHING_CHECKPOINTS",
    "TrainedGeneralist",
    "load_generalist",
    "make_generalist_data",
    "save_generalist",
    "train_generalist",
    "train_teaching_checkpoints",
]

# --------------------------------------------------------------------------- end to end


@dataclass
class GeneralistData:
    """Training and held-out cases per modality, with each specialist's predictions
    (out-of-fold on the training cases)."""

    train: dict[str, ImageCases]
    test: dict[str, ImageCases]
    train_specialists: dict[str, Specialist]
    test_specialists: dict[str, Specialist]


def make_generalist_data(n_train=300, n_test=100, seed=0, specialists=True) -> GeneralistData:
    """Cases of every modality (``n_train`` per modality, or a dict modality -> count;
    training seed ``10 * seed + 1``, test ``10 * seed + 2``;
    no test cases when ``n_test`` is 0) and, when ``specialists``, MOME-mini's and
    mSTAR-mini's predictions on them, with the similar training cases each finds."""
    from medai_edu.data.instructions import make_image_cases

    train_seed, test_seed = 10 * seed + 1, 10 * seed + 2
    n_train = n_train if isinstance(n_train, dict) else dict.fromkeys(MODALITIES, n_train)
    train = {m: make_image_cases(m, n_train[m], train_seed) for m in MODALITIES}
    test = {m: make_image_cases(m, n_test, test_seed) for m in MODALITIES} if n_test else {}
    train_specialists, test_specialists = {}, {}
    if specialists:
        train_specialists["breast-mri"] = mome_specialist(n_train["breast-mri"], train_seed)
        pair = mstar_specialists(n_train["pathology"], n_test, train_seed, test_seed)
        train_specialists["pathology"] = pair[0]
        if n_test:
            test_specialists["breast-mri"] = mome_specialist(n_test, test_seed)
            test_specialists["pathology"] = pair[1]
        for m, specialist in train_specialists.items():
            if m in test_specialists:
                test_specialists[m] = consult(specialist, train[m], test_specialists[m])
            train_specialists[m] = consult(specialist, train[m])  # leave-one-out
    return GeneralistData(train, test, train_specialists, test_specialists)


@dataclass
class TrainedGeneralist:
    """MedDr-mini after both stages (LoRA adapters attached), and what it needs to answer."""

    model: torch.nn.Module
    tokenizer: CourseTokenizer
    index: RetrievalIndex
    losses: dict[str, list[float]]
    seconds: dict[str, float]


#: Settings of the comparison: (retrieval in the prompt, specialist in the prompt).
SETTINGS = {
    "generalist": (False, False),
    "+ retrieval": (True, False),
    "+ specialist": (False, True),
    "+ both": (True, True),
}


def accuracy_table(trained: TrainedGeneralist, data: GeneralistData) -> list[dict]:
    """Rows {modality, setting, accuracy, n}: the generalist alone, with retrieval, with the
    specialist, with both, and the specialist alone; plus decoding speed."""
    rows = []
    model, tokenizer = trained.model, trained.tokenizer
    for m, cases in data.test.items():
        retrieved = trained.index.retrieve(model, m, cases.images)
        specialist = data.test_specialists.get(m)
        for setting, (use_retrieval, use_specialist) in SETTINGS.items():
            if use_specialist and specialist is None:
                continue
            run = diagnose(
                model,
                tokenizer,
                cases,
                retrieved if use_retrieval else None,
                specialist if use_specialist else None,
            )
            accuracy = float((run.predicted == cases.diagnosis).mean())
            rows.append(
                {
                    "modality": m,
                    "setting": setting,
                    "accuracy": accuracy,
                    "n": len(cases),
                    "tokens_per_s": run.tokens / run.seconds,
                }
            )
        if specialist is not None:
            alone = float((specialist.probabilities.argmax(1) == cases.diagnosis).mean())
            rows.append({"modality": m, "setting": "specialist alone", "accuracy": alone})
    return rows


def train_generalist(
    data: GeneralistData,
    pretrain_steps=400,
    tune_steps=500,
    batch=32,
    pretrain_fraction=0.5,
    seed=0,
    **config,
) -> TrainedGeneralist:
    """Tokenizer, pretraining, the retrieval index, then LoRA instruction tuning.

    Pretraining sees the first ``pretrain_fraction`` of each modality's training cases,
    instruction tuning the rest. On cases it has memorised, the image alone gives the
    answer and the context would teach nothing; on new ones, retrieval and the specialist
    are worth reading. The retrieval index holds all training cases.
    """
    torch.manual_seed(seed)
    seconds, start = {}, time.perf_counter()
    cut = {m: int(round(len(c) * pretrain_fraction)) for m, c in data.train.items()}
    first = {m: c.subset(range(cut[m])) for m, c in data.train.items()}
    rest = {m: np.arange(cut[m], len(c)) for m, c in data.train.items()}
    tokenizer = fit_tokenizer(data.train, seed=seed)
    model = create_model("meddr-mini", vocab_size=tokenizer.vocab_size, **config)
    losses = {"pretraining": pretrain(model, tokenizer, first, pretrain_steps, batch)}
    seconds["pretraining"] = time.perf_counter() - start
    index = RetrievalIndex.build(model, data.train)
    tuning = {m: data.train[m].subset(rest[m]) for m in data.train}
    retrieved = {}
    for m, c in data.train.items():
        own = index.retrieve(model, m, c.images, exclude_self=True)  # leave-one-out
        retrieved[m] = [own[i] for i in rest[m]]
    specialists = {m: s.subset(rest[m]) for m, s in data.train_specialists.items()}
    examples = tuning_examples(tuning, retrieved, specialists, seed)
    model = add_lora(model)
    losses["instruction tuning"] = instruction_tune(
        model, tokenizer, tuning, examples, tune_steps, batch
    )
    seconds["total"] = time.perf_counter() - start
    return TrainedGeneralist(model, tokenizer, index, losses, seconds)


# --------------------------------------------------------------------------- checkpoints

#: The shipped MedDr-mini teaching checkpoint (``medai-edu train generalist`` remakes it).
TEACHING_CHECKPOINT = CHECKPOINTS / PRETRAINED[("meddr-mini", "generalist")].file
TEACHING_CHECKPOINTS = TEACHING_CHECKPOINT.parent


def save_generalist(trained: TrainedGeneralist, path=TEACHING_CHECKPOINT, **provenance) -> Path:
    """Save MedDr-mini with its LoRA adapters merged into the decoder, its config, the
    tokenizer and the training losses (the retrieval index is rebuilt from any archive)."""
    model = trained.model
    if hasattr(model, "merge_and_unload"):  # a peft model: fold the adapters in
        model = copy.deepcopy(model).merge_and_unload()
    return save_checkpoint(
        model,
        path,
        config=json.dumps(asdict(model.config)),
        tokenizer=trained.tokenizer.to_json(),
        losses=json.dumps(trained.losses),
        seconds=json.dumps(trained.seconds),
        **provenance,
    )


def load_generalist(
    path: str | Path | None = None, device: torch.device | str | None = None
) -> tuple[MedDrMini, CourseTokenizer, dict]:
    """(model in evaluation mode, tokenizer, metadata): the shipped MedDr-mini
    (``create_model("meddr-mini", pretrained=True)``, checksum checked), or the one
    :func:`save_generalist` wrote at ``path``.

    device: where to put the model (None: the CPU). Retrieval, :func:`answer`,
    :func:`diagnose` and :func:`write_reports` run it there."""
    if path is None or same_file(path, TEACHING_CHECKPOINT):
        model = create_model("meddr-mini", pretrained=True)
        meta = model.pretrained_cfg["metadata"]
    else:
        model, meta = _read_generalist(Path(path))
    model.to(torch.device(device or "cpu"))
    return model.eval(), CourseTokenizer.from_json(meta["tokenizer"]), meta


def _read_generalist(path: Path) -> tuple[MedDrMini, dict]:
    """A MedDr-mini checkpoint written by :func:`save_generalist` outside the package."""
    if not path.exists():
        raise FileNotFoundError(
            f"no MedDr-mini checkpoint at {path}; make it with `medai-edu train generalist`"
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated, not a zip, pickled code: all unreadable
        raise ValueError(f"{path} is not a readable MedDr-mini checkpoint: {err}") from err
    meta = payload.get("metadata", {}) if isinstance(payload, dict) else {}
    if "config" not in meta or "tokenizer" not in meta:
        raise ValueError(f"{path} is not a MedDr-mini checkpoint (no config or tokenizer)")
    model = create_model("meddr-mini", **json.loads(meta["config"]))
    load_checkpoint(model, path)
    return model, meta


def train_teaching_checkpoints(directory=TEACHING_CHECKPOINTS, seed=0, n_train=300) -> list[Path]:
    """Make the shipped checkpoint: the ``meddr.fidelity`` benchmark's data and settings."""
    data = make_generalist_data(n_train=n_train, n_test=0, seed=seed)
    trained = train_generalist(data, seed=seed)
    provenance = {
        "seed": seed,
        "n_train_per_modality": n_train,
        "command": f"medai-edu train generalist --seed {seed}",
        "torch": str(torch.__version__),
    }
    return [save_generalist(trained, Path(directory) / "meddr-mini.pt", **provenance)]
