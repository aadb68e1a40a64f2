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
"""

from __future__ import annotations

import copy
import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from medai_edu.data.instructions import (
    IMAGE_NOUNS,
    MODALITIES,
    ImageCases,
    hallucinated_findings,
    instructions,
    multiple_choice,
    parse_choice,
    report,
    report_findings,
    vqa_pairs,
)
from medai_edu.models import create_model
from medai_edu.models.meddr import IGNORE_INDEX, MedDrMini
from medai_edu.models.tokenizer import CourseTokenizer
from medai_edu.retrieval import EmbeddingIndex
from medai_edu.train import load_checkpoint, save_checkpoint

#: The decoder blocks' linear layers that LoRA adapts (a regular expression peft matches
#: against full module names); the vision encoder and projector stay frozen, and the
#: embeddings train only with ``add_lora(train_embeddings=True)``.
LORA_TARGETS = r".*decoder\.blocks\.\d+\.(attn\.(qkv|proj)|mlp\.(fc|proj))"

#: The decoder's embeddings that instruction tuning also trains (see :func:`add_lora`).
EMBEDDINGS = ("decoder.wte.weight", "decoder.wpe.weight")

#: Settings of the comparison: (retrieval in the prompt, specialist in the prompt).
SETTINGS = {
    "generalist": (False, False),
    "+ retrieval": (True, False),
    "+ specialist": (False, True),
    "+ both": (True, True),
}


# --------------------------------------------------------------------------- prompts


@dataclass
class Specialist:
    """A specialist's predictions for a set of cases: ``probabilities`` (N, C) over the
    cases' diagnoses, and the specialist's ``name``. ``embeddings`` (N, D): its own features
    of each case, with which it finds similar cases; ``neighbours``: the diagnoses of each
    case's ``k`` most similar training cases by those features (see :func:`consult`)."""

    name: str
    probabilities: np.ndarray
    embeddings: np.ndarray | None = None
    neighbours: list[list[str]] | None = None

    def subset(self, index) -> Specialist:
        index = np.asarray(index)
        embeddings = None if self.embeddings is None else self.embeddings[index]
        neighbours = None if self.neighbours is None else [self.neighbours[i] for i in index]
        return Specialist(self.name, self.probabilities[index], embeddings, neighbours)

    def hint(self, i: int, diagnoses) -> tuple[str, str, float]:
        k = int(self.probabilities[i].argmax())
        return self.name, diagnoses[k].lower(), float(self.probabilities[i, k])


def consult(train: Specialist, train_cases: ImageCases, query: Specialist | None = None, k=5):
    """GSCo's second kind of guidance: the specialist also finds the visually similar cases,
    by its own features. Returns ``query`` (or ``train``, leave-one-out) with ``neighbours``:
    the diagnoses of the ``k`` nearest training cases in the specialist's embedding space."""
    names = np.array([train_cases.diagnoses[d].lower() for d in train_cases.diagnosis])
    index = EmbeddingIndex().fit(train.embeddings, names)
    target = train if query is None else query
    result = index.search(target.embeddings, k, exclude_self=query is None)
    neighbours = [list(names[row]) for row in result.index]
    return Specialist(target.name, target.probabilities, target.embeddings, neighbours)


def context(i: int, cases: ImageCases, retrieved=None, specialist=None):
    """(similar cases, specialist hint) for case ``i``'s prompt. With a specialist that
    brings its own similar cases (GSCo), those stand in for MedDr-mini's own retrieval."""
    hint = specialist.hint(i, cases.diagnoses) if specialist is not None else None
    similar = retrieved[i] if retrieved else None
    if similar and specialist is not None and specialist.neighbours is not None:
        similar = specialist.neighbours[i]
    return similar, hint


def build_prompt(
    modality: str,
    question: str,
    retrieved: list[str] | None = None,
    specialist: tuple[str, str, float] | None = None,
) -> str:
    """The text after the visual tokens, up to ``answer:``.

    retrieved: diagnoses of the most similar cases, nearest first; specialist: (name,
    diagnosis, probability).
    """
    if modality not in IMAGE_NOUNS:
        raise ValueError(f"unknown modality {modality!r}; choose one of {MODALITIES}")
    if not question or not question.strip():
        raise ValueError("the question is empty: ask something about the image")
    parts = [f"image: {IMAGE_NOUNS[modality]}."]
    if retrieved:
        parts.append(f"similar cases: {summarise_retrieved(retrieved)}.")
    if specialist:
        name, diagnosis, probability = specialist
        parts.append(f"specialist {name}: {diagnosis} ({probability:.2f}).")
    parts += [f"question: {question.strip()}", "answer:"]
    return " ".join(parts)


def summarise_retrieved(retrieved: list[str]) -> str:
    """The retrieved diagnoses as counts, most common first (ties: the nearer case's first),
    e.g. ``"malignant 4 of 5, benign 1 of 5"``: easier for a small model to read than a
    list of five names."""
    counts: dict[str, int] = {}
    for name in retrieved:
        counts[str(name)] = counts.get(str(name), 0) + 1
    ranked = sorted(counts, key=lambda name: -counts[name])  # stable: nearer first on ties
    return ", ".join(f"{name} {counts[name]} of {len(retrieved)}" for name in ranked)


def encode_example(tokenizer: CourseTokenizer, prompt: str, answer: str | None = None):
    """Token ids ``<bos> prompt [answer <eos>]`` and their labels: at each position the next
    token when it belongs to the answer, else ``IGNORE_INDEX`` (the prompt is not learned)."""
    prompt_ids = [tokenizer.bos_id, *tokenizer.encode(prompt)]
    if answer is None:
        return prompt_ids, None
    answer_ids = [*tokenizer.encode(" " + answer), tokenizer.eos_id]
    ids = prompt_ids + answer_ids
    labels = [IGNORE_INDEX] * (len(prompt_ids) - 1) + answer_ids + [IGNORE_INDEX]
    return ids, labels


def collate(pairs, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad (ids, labels) pairs to one (B, T) batch each."""
    length = max(len(ids) for ids, _ in pairs)
    ids = torch.full((len(pairs), length), pad_id, dtype=torch.long)
    labels = torch.full((len(pairs), length), IGNORE_INDEX, dtype=torch.long)
    for row, (i, lab) in enumerate(pairs):
        ids[row, : len(i)] = torch.tensor(i)
        labels[row, : len(lab)] = torch.tensor(lab)
    return ids, labels


# --------------------------------------------------------------------------- retrieval


@torch.no_grad()
def image_embeddings(model: MedDrMini, images: np.ndarray, chunk: int = 256) -> np.ndarray:
    """(N, vision_dim): the mean of each image's visual tokens, the retrieval key (the
    model runs where its parameters are)."""
    model.eval()
    device = next(model.parameters()).device
    tensors = torch.as_tensor(images, dtype=torch.float32)
    parts = [
        model.vision(tensors[i : i + chunk].to(device)).mean(1).cpu()
        for i in range(0, len(tensors), chunk)
    ]
    return torch.cat(parts).numpy()


@dataclass
class RetrievalIndex:
    """One :class:`EmbeddingIndex` per modality over the training cases' images, with their
    diagnosis names."""

    indexes: dict[str, EmbeddingIndex]
    k: int = 5

    @classmethod
    def build(cls, model: MedDrMini, cases: dict[str, ImageCases], k: int = 5):
        indexes = {}
        for modality, c in cases.items():
            names = np.array([c.diagnoses[d].lower() for d in c.diagnosis])
            indexes[modality] = EmbeddingIndex().fit(image_embeddings(model, c.images), names)
        return cls(indexes, k)

    def retrieve(self, model, modality: str, images: np.ndarray, exclude_self=False):
        """Diagnoses of the ``k`` nearest training cases of each image: a list of lists."""
        index = self.indexes[modality]
        result = index.search(image_embeddings(model, images), self.k, exclude_self)
        return [list(index.labels[row]) for row in result.index]


# --------------------------------------------------------------------------- training


def fit_tokenizer(cases: dict[str, ImageCases], vocab_size=768, seed=0) -> CourseTokenizer:
    """BPE on the course's own text: every prompt and answer the training cases make."""
    rng = np.random.default_rng(seed)
    texts = []
    for c in cases.values():
        for i in range(len(c)):
            for question, answer in instructions(c, i, rng):
                texts += [build_prompt(c.modality, question), answer]
        texts.append("similar cases: " + ", ".join(f"{d.lower()} 1 of 5" for d in c.diagnoses))
    # the words and digits the specialists' hints use, which no template writes
    texts.append("specialist mome-mini: mstar-mini: 0.123456789 ().")
    return CourseTokenizer(vocab_size).fit(texts)


@dataclass
class Example:
    """One training example: which image, and the prompt and answer text."""

    modality: str
    index: int
    prompt: str
    answer: str
    blank_image: bool = False  # the image is hidden: the answer must come from the prompt


def diagnosis_question(cases: ImageCases, i: int) -> tuple[str, str]:
    """The multiple-choice question (options in a fixed order) and, as the answer, the
    diagnosis by name: ``"malignant."``. A letter and a name are two things a small model
    can get out of step ("(a) malignant" when (a) is benign); the name alone cannot."""
    question, _ = multiple_choice(cases, i)
    return question, f"{cases.diagnoses[int(cases.diagnosis[i])].lower()}."


def pretraining_examples(cases: dict[str, ImageCases]) -> list[Example]:
    """Every bootstrapped instruction of every case (visual questions, multiple choice with
    the options in a fixed order, report), with no retrieval or specialist."""
    return [
        Example(m, i, build_prompt(m, q), a)
        for m, c in cases.items()
        for i in range(len(c))
        for q, a in [*vqa_pairs(c, i), diagnosis_question(c, i), report(c, i)]
    ]


def _train(model, tokenizer, cases, examples, steps, batch, lr, desc, device) -> list[float]:
    """AdamW on random batches of ``examples`` (trainable parameters only), on ``device``
    (None: the CPU), where the model is moved and stays. Batches are drawn on the CPU."""
    device = torch.device(device or "cpu")
    params = [p for p in model.to(device).parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    encoded = [encode_example(tokenizer, e.prompt, e.answer) for e in examples]
    images = {m: torch.as_tensor(c.images) for m, c in cases.items()}
    generator = np.random.default_rng(0)
    losses = []
    model.train()
    for _ in tqdm(range(steps), desc=desc, leave=False):
        pick = generator.choice(len(examples), batch)
        ids, labels = collate([encoded[k] for k in pick], tokenizer.pad_id)
        picture = torch.stack([images[examples[k].modality][examples[k].index] for k in pick])
        blank = torch.tensor([examples[k].blank_image for k in pick])
        picture[blank] = 0.5  # mid-grey: no image
        loss = model(picture.to(device), ids.to(device), labels.to(device))["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    return losses


def pretrain(
    model, tokenizer, cases, steps=400, batch=32, lr=2e-3, device: torch.device | str | None = None
) -> list[float]:
    """Stage 1: the whole model learns the bootstrapped instructions; returns the loss of
    each step (nats). device: where to train (None: the CPU); the model stays there."""
    examples = pretraining_examples(cases)
    return _train(model, tokenizer, cases, examples, steps, batch, lr, "pretraining", device)


def add_lora(model: MedDrMini, rank: int = 16, alpha: int = 32, train_embeddings: bool = True):
    """Freeze ``model`` and wrap it with LoRA adapters on :data:`LORA_TARGETS` (peft).

    With ``train_embeddings`` the decoder's token and position embeddings (:data:`EMBEDDINGS`)
    stay trainable too. Pretraining never shows the words that only the tuning prompts use
    ("specialist", "similar cases", the digits of a probability), nor the positions past its
    longest sequence: their embeddings are still random, and LoRA on the blocks alone cannot
    learn to read them (the hint was ignored on breast MRI). A big language model has seen
    every token and position before; MedDr-mini learns them here, as one does for added
    tokens."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=rank, lora_alpha=alpha, target_modules=LORA_TARGETS, lora_dropout=0.0)
    model = get_peft_model(model, config)
    if train_embeddings:
        for name, parameter in model.named_parameters():
            if name.endswith(EMBEDDINGS):
                parameter.requires_grad_(True)
    return model


def tuning_examples(
    cases: dict[str, ImageCases],
    retrieved: dict[str, list[list[str]]],
    specialists: dict[str, Specialist],
    seed: int = 0,
    repeats: int = 2,
    report_share: float = 0.25,
    blank_share: float = 0.5,
    context_share: float = 0.7,
) -> list[Example]:
    """Multiple-choice diagnosis with every mix of context (retrieval and the specialist
    each present with probability ``context_share``), the image hidden in ``blank_share``
    of those with context, plus the reports of ``report_share`` of the cases (so that LoRA
    does not forget how to write one).

    retrieved: per modality, the diagnoses of each training case's neighbours (leave-one-out);
    specialists: per modality, out-of-fold predictions on the training cases.
    """
    rng = np.random.default_rng(seed)
    examples = []
    for m, c in cases.items():
        for i in range(len(c)):
            for _ in range(repeats):
                use_retrieval, use_specialist = rng.random(2) < context_share
                similar, hint = context(
                    i,
                    c,
                    retrieved[m] if use_retrieval else None,
                    specialists.get(m) if use_specialist else None,
                )
                question, answer = diagnosis_question(c, i)
                prompt = build_prompt(m, question, similar, hint)
                # Sometimes hide the image when there is context, so that the model has to
                # learn to read the context (modality dropout on the image).
                blank = bool(use_retrieval or use_specialist) and rng.random() < blank_share
                examples.append(Example(m, i, prompt, answer, blank))
            if rng.random() < report_share:  # a few reports, so LoRA does not unlearn them
                question, text = report(c, i)
                examples.append(Example(m, i, build_prompt(m, question), text))
    return examples


def instruction_tune(
    model,
    tokenizer,
    cases,
    examples,
    steps=300,
    batch=32,
    lr=2e-3,
    device: torch.device | str | None = None,
):
    """Stage 2: LoRA on the decoder learns from prompts with retrieval and specialists.
    ``model`` must already be wrapped by :func:`add_lora`. device: where to train (None:
    the CPU); the model stays there."""
    desc = "LoRA instruction tuning"
    return _train(model, tokenizer, cases, examples, steps, batch, lr, desc, device)


# --------------------------------------------------------------------------- inference


def answer(
    model: MedDrMini,
    tokenizer: CourseTokenizer,
    image: np.ndarray | torch.Tensor,
    prompt: str,
    max_new_tokens: int = 40,
    **sampling,
) -> str:
    """The model's answer to ``prompt`` about ``image`` (3, s, s), greedy unless sampling
    options (temperature, top_k) are given."""
    ids, _ = encode_example(tokenizer, prompt)
    tokens = model.generate(
        torch.as_tensor(image, dtype=torch.float32),
        ids,
        max_new_tokens=max_new_tokens,
        stop_id=tokenizer.eos_id,
        **sampling,
    )
    return tokenizer.decode(tokens).strip()


@dataclass
class DiagnosisRun:
    """Predicted diagnosis index per case (-1: the answer named none), and the texts."""

    predicted: np.ndarray
    answers: list[str] = field(default_factory=list)
    tokens: int = 0
    seconds: float = 0.0


def diagnose(model, tokenizer, cases: ImageCases, retrieved=None, specialist=None):
    """Ask every case's multiple-choice question, optionally with retrieved diagnoses
    (a list per case) and a :class:`Specialist`; parse the answers."""
    predicted, answers, tokens, start = [], [], 0, time.perf_counter()
    for i in range(len(cases)):
        question, _ = diagnosis_question(cases, i)
        prompt = build_prompt(cases.modality, question, *context(i, cases, retrieved, specialist))
        text = answer(model, tokenizer, cases.images[i], prompt, max_new_tokens=12)
        options = options_of(question)
        choice = parse_choice(text, options)
        names = [d.lower() for d in cases.diagnoses]
        predicted.append(-1 if choice is None else names.index(options[choice]))
        answers.append(text)
        tokens += len(tokenizer.encode(text)) + 1
    seconds = time.perf_counter() - start
    return DiagnosisRun(np.array(predicted), answers, tokens, seconds)


def options_of(question: str) -> list[str]:
    """The option names of a multiple-choice question, in the order they are offered."""
    listed = question.split("options:", 1)[-1]
    return [name.strip() for name in re.findall(r"\([a-z]\) ([^(]+?)(?=\s*\(|\.?$)", listed)]


def write_reports(model, tokenizer, cases: ImageCases, **sampling) -> list[str]:
    """The model's short report of every case; greedy unless ``sampling`` options
    (temperature, top_k, generator) are given."""
    prompt = build_prompt(cases.modality, report(cases, 0)[0])
    return [
        answer(model, tokenizer, cases.images[i], prompt, **sampling) for i in range(len(cases))
    ]


def report_scores(generated: list[str], cases: ImageCases) -> dict[str, float]:
    """BLEU (sacrebleu, 0-100) and ROUGE-L F1 (rouge-score, 0-1) against the template
    reports; the hallucination rate (the fraction of reports naming a finding the case
    does not have) and the share of the cases' findings stated correctly (0-1)."""
    import sacrebleu
    from rouge_score import rouge_scorer

    references = [report(cases, i)[1] for i in range(len(cases))]
    bleu = sacrebleu.corpus_bleu(generated, [references]).score
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    rouge = np.mean(
        [scorer.score(r, g)["rougeL"].fmeasure for r, g in zip(references, generated, strict=True)]
    )
    wrong = [bool(hallucinated_findings(g, cases, i)) for i, g in enumerate(generated)]
    right = [_correct_share(g, cases, i) for i, g in enumerate(generated)]
    return {
        "bleu": float(bleu),
        "rouge_l": float(rouge),
        "hallucination_rate": float(np.mean(wrong)),
        "correct_findings": float(np.mean(right)),
    }


def _correct_share(text: str, cases: ImageCases, i: int) -> float:
    """Fraction of case ``i``'s concepts the text states with the right value (an empty or
    garbled report hallucinates nothing, and gets nothing right either)."""
    stated = report_findings(text, cases.modality)
    truth = cases.concepts_of(i)
    return sum(stated.get(k) == v for k, v in truth.items()) / len(truth)


# --------------------------------------------------------------------------- specialists


@torch.no_grad()
def mome_specialist(n: int, seed: int) -> Specialist:
    """MOME-mini's malignancy probability and features (``MOMEMini.features``) for the
    breast-MRI cases ``make_image_cases("breast-mri", n, seed)`` makes: the specialist sees
    the full 3D mpMRI of the same cases (the same cohort, regenerated), the generalist one
    2D slice."""
    from torch.utils.data import DataLoader

    from medai_edu.data.breast_mri import make_breast_mri_cohort
    from medai_edu.data.datasets import BreastMRIDataset
    from medai_edu.experiments.breast_fusion import load_contenders

    model = load_contenders()["mome-mini"].model.eval()
    loader = DataLoader(BreastMRIDataset(make_breast_mri_cohort(n, seed=seed)), batch_size=64)
    malignant, features = [], []
    for inputs, _ in loader:
        malignant.append(model(inputs)["malignant"].sigmoid())
        features.append(model.features(inputs))
    malignant = torch.cat(malignant).numpy()
    probabilities = np.stack([1 - malignant, malignant], axis=1)
    return Specialist("mome-mini", probabilities, torch.cat(features).numpy())


def mstar_specialists(n_train: int, n_test: int, train_seed: int, test_seed: int):
    """mSTAR-mini (the shipped stage-2 encoder and its aggregator) with a logistic
    regression on its slide embeddings: the whole slide's tumour type. Returns
    (out-of-fold predictions on the training slides, predictions on the test slides), each
    with the slide embeddings."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    from medai_edu.experiments.slide_pretraining import (
        load_encoders,
        make_slide_bags,
        slide_embeddings,
    )

    encoder = load_encoders().stage2
    train = make_slide_bags(n_train, seed=train_seed, max_tiles=24)
    x_train = slide_embeddings(encoder, train, "aggregator")
    y = train.tumour_type.numpy()
    classifier = LogisticRegression(C=0.5, max_iter=1000)
    out_of_fold = cross_val_predict(classifier, x_train, y, cv=5, method="predict_proba")
    classifier.fit(x_train, y)
    on_test, x_test = np.zeros((0, 3)), np.zeros((0, x_train.shape[1]))
    if n_test:
        test = make_slide_bags(n_test, seed=test_seed, max_tiles=24)
        x_test = slide_embeddings(encoder, test, "aggregator")
        on_test = classifier.predict_proba(x_test)
    return (
        Specialist("mstar-mini", out_of_fold, np.asarray(x_train)),
        Specialist("mstar-mini", on_test, np.asarray(x_test)),
    )


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


# --------------------------------------------------------------------------- checkpoints

#: Where the shipped MedDr-mini teaching checkpoint lives (``medai-edu train generalist``).
TEACHING_CHECKPOINTS = Path(__file__).resolve().parent.parent / "checkpoints" / "generalist"
TEACHING_CHECKPOINT = TEACHING_CHECKPOINTS / "meddr-mini.pt"


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
    path=TEACHING_CHECKPOINT, device: torch.device | str | None = None
) -> tuple[MedDrMini, CourseTokenizer, dict]:
    """(model in evaluation mode, tokenizer, metadata) saved by :func:`save_generalist`.

    device: where to put the model (None: the CPU). Retrieval, :func:`answer`,
    :func:`diagnose` and :func:`write_reports` run it there."""
    path = Path(path)
    if path.resolve() == TEACHING_CHECKPOINT.resolve():  # by name, checksum checked
        model = create_model("meddr-mini", pretrained=True)
        meta = model.pretrained_cfg["metadata"]
        model.to(torch.device(device or "cpu"))
        return model, CourseTokenizer.from_json(meta["tokenizer"]), meta
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
    model.to(torch.device(device or "cpu"))
    return model.eval(), CourseTokenizer.from_json(meta["tokenizer"]), meta


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
