"""MedDr-mini end to end: prompts, encoding, retrieval, LoRA, training, diagnosis, scores."""

import dataclasses

import numpy as np
import pytest
import torch

from medai_edu.data.instructions import make_image_cases, report
from medai_edu.experiments import generalist as g
from medai_edu.models import create_model
from medai_edu.models.meddr import IGNORE_INDEX


@pytest.fixture(scope="module")
def cases():
    return {
        "ihc": make_image_cases("ihc", 12, seed=3),
        "breast-mri": make_image_cases("breast-mri", 8),
    }


@pytest.fixture(scope="module")
def tokenizer(cases):
    return g.fit_tokenizer(cases, vocab_size=400)


def tiny(tokenizer):
    torch.manual_seed(0)
    return create_model("meddr-mini", vocab_size=tokenizer.vocab_size, depth=2, dim=64)


def test_prompt_assembly_puts_context_before_the_question():
    prompt = g.build_prompt(
        "breast-mri", " is it malignant? ", ["malignant", "benign"], ("mome-mini", "benign", 0.8)
    )
    assert prompt == (
        "image: breast mri. similar cases: malignant 1 of 2, benign 1 of 2. "
        "specialist mome-mini: benign (0.80). question: is it malignant? answer:"
    )
    assert g.build_prompt("ihc", "q?") == "image: ihc image. question: q? answer:"
    # most common first; a tie goes to the diagnosis of the nearer case
    assert g.summarise_retrieved(["b", "a", "a", "b", "c"]) == "b 2 of 5, a 2 of 5, c 1 of 5"
    with pytest.raises(ValueError, match="question is empty"):
        g.build_prompt("ihc", "   ")
    with pytest.raises(ValueError, match="unknown modality"):
        g.build_prompt("x-ray", "q?")


def test_only_the_answer_is_learned(tokenizer):
    ids, labels = g.encode_example(tokenizer, "image: ihc image. question: q? answer:", "weak.")
    answer = tokenizer.encode(" weak.")
    assert ids[0] == tokenizer.bos_id and ids[-1] == tokenizer.eos_id
    learned = [label for label in labels if label != IGNORE_INDEX]
    assert learned == [*answer, tokenizer.eos_id]
    first = labels.index(answer[0])
    assert ids[first + 1] == answer[0]  # position t predicts token t + 1
    batch_ids, batch_labels = g.collate([(ids, labels), (ids[:5], labels[:5])], tokenizer.pad_id)
    assert batch_ids.shape == batch_labels.shape == (2, len(ids))
    assert (batch_ids[1, 5:] == tokenizer.pad_id).all()
    assert (batch_labels[1, 5:] == IGNORE_INDEX).all()


def test_retrieval_returns_the_right_neighbours(tokenizer, cases):
    model = tiny(tokenizer)
    archive = {"ihc": cases["ihc"].subset(range(6))}
    index = g.RetrievalIndex.build(model, archive, k=1)
    query = archive["ihc"].images[[4, 1]] + 0.002 * np.random.default_rng(0).random((2, 3, 32, 32))
    names = [archive["ihc"].diagnoses[d].lower() for d in archive["ihc"].diagnosis]
    assert index.retrieve(model, "ihc", query.astype(np.float32)) == [[names[4]], [names[1]]]
    own = index.retrieve(model, "ihc", archive["ihc"].images, exclude_self=True)
    assert all(len(r) == 1 for r in own)


def test_lora_adapts_only_the_decoder_and_leaves_the_base_alone(tokenizer, cases):
    model = g.add_lora(tiny(tokenizer))
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    adapters = {n for n in trainable if "lora_" in n}
    assert adapters and all(".decoder.blocks." in n for n in adapters)
    adapted = {n.rsplit(".lora_", 1)[0] for n in adapters}
    assert len(adapted) == 2 * 4  # qkv, attention proj, mlp fc, mlp proj in each block
    # besides the adapters, only the token and position embeddings (the words and positions
    # pretraining never showed); the vision encoder, projector and blocks stay frozen
    assert {n.split("base_model.model.")[-1] for n in trainable - adapters} == set(g.EMBEDDINGS)
    assert not any(p.requires_grad for n, p in model.named_parameters() if "vision" in n)
    frozen = g.add_lora(tiny(tokenizer), train_embeddings=False)
    assert all("lora_" in n for n, p in frozen.named_parameters() if p.requires_grad)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    examples = g.pretraining_examples(cases)
    losses = g.instruction_tune(model, tokenizer, cases, examples, steps=3, batch=4)
    assert len(losses) == 3
    for name, p in model.named_parameters():
        changed = not torch.equal(before[name], p.detach())
        if "lora_B" in name:
            assert changed, name  # B starts at zero: the adapters learned something
        elif "lora_" not in name:
            assert changed == name.endswith(g.EMBEDDINGS), name


def test_pretraining_lowers_the_loss_and_the_model_answers(tokenizer, cases):
    model = tiny(tokenizer)
    losses = g.pretrain(model, tokenizer, cases, steps=40, batch=16, lr=3e-3)
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5])
    run = g.diagnose(model, tokenizer, cases["ihc"])
    assert run.predicted.shape == (12,) and set(run.predicted) <= {-1, 0, 1}
    assert run.tokens > 0 and len(run.answers) == 12
    reports = g.write_reports(model, tokenizer, cases["ihc"].subset(range(3)))
    scores = g.report_scores(reports, cases["ihc"].subset(range(3)))
    assert 0 <= scores["bleu"] <= 100 and 0 <= scores["rouge_l"] <= 1


def test_report_scores_count_hallucinations(cases):
    c = cases["breast-mri"].subset(range(2))
    true = [report(c, i)[1] for i in range(2)]
    perfect = g.report_scores(true, c)
    assert perfect["rouge_l"] == pytest.approx(1.0) and perfect["hallucination_rate"] == 0.0
    assert perfect["correct_findings"] == 1.0
    garbled = g.report_scores(["zzz", "findings: impression."], c)
    assert garbled["hallucination_rate"] == 0.0 and garbled["correct_findings"] == 0.0
    margin = c.concepts_of(0)["margin"]
    other = next(v for v in c.concept_values["margin"] if v != margin)
    wrong = [true[0].replace(f"{margin} margin", f"{other} margin"), true[1]]
    assert g.report_scores(wrong, c)["hallucination_rate"] == 0.5


def test_options_and_specialist_hints():
    question = "which diagnosis fits this ihc image? options: (a) dab positive (b) dab negative."
    assert g.options_of(question) == ["dab positive", "dab negative"]
    specialist = g.Specialist("mome-mini", np.array([[0.2, 0.8], [0.9, 0.1]]))
    assert specialist.hint(0, ("Benign", "Malignant")) == ("mome-mini", "malignant", 0.8)


def test_the_specialist_finds_similar_cases_by_its_own_features(cases):
    """GSCo: the specialist's neighbours come from its embedding space, not the images."""
    # only case 5 is malignant, so a wrong neighbour shows in the diagnosis names
    train = dataclasses.replace(
        cases["breast-mri"].subset(range(6)), diagnosis=np.eye(6, dtype=np.int64)[5]
    )
    names = ["benign"] * 5 + ["malignant"]
    # each case's features point along its own axis; case 5 sits next to case 2
    features = np.eye(6) + 0.01
    features[5] = features[2] + 0.05 * np.eye(6)[5]
    probabilities = np.tile([[0.3, 0.7]], (6, 1))
    specialist = g.Specialist("mome-mini", probabilities, features)
    own = g.consult(specialist, train, k=1)  # leave-one-out on the training cases
    assert own.neighbours[2] == [names[5]] and own.neighbours[5] == [names[2]]
    query = g.Specialist("mome-mini", probabilities[:2], features[[2, 5]] + 0.001)
    found = g.consult(specialist, train, query, k=1)
    assert found.neighbours == [[names[2]], [names[5]]]
    assert found.subset([1]).neighbours == [[names[5]]]
    # with the specialist's neighbours, they replace MedDr-mini's own retrieval
    mine = [["own"], ["own"]]
    assert g.context(1, train, mine, found) == ([names[5]], ("mome-mini", "malignant", 0.7))
    assert g.context(1, train, None, found) == (None, ("mome-mini", "malignant", 0.7))
    plain = g.Specialist("mome-mini", probabilities[:2])
    assert g.context(1, train, mine, plain)[0] == ["own"]
    assert g.context(1, train, mine, None) == (["own"], None)


def test_checkpoint_keeps_the_lora_tuned_model(tokenizer, cases, tmp_path):
    model = g.add_lora(tiny(tokenizer))
    g.instruction_tune(model, tokenizer, cases, g.pretraining_examples(cases), steps=3, batch=4)
    trained = g.TrainedGeneralist(model, tokenizer, None, {"pretraining": [1.0]}, {"total": 1.0})
    path = g.save_generalist(trained, tmp_path / "meddr.pt", seed=0)
    loaded, loaded_tokenizer, meta = g.load_generalist(path)
    images = torch.as_tensor(cases["ihc"].images[:2])
    ids = torch.randint(4, tokenizer.vocab_size, (2, 9))
    model.eval()
    torch.testing.assert_close(loaded(images, ids)["logits"], model(images, ids)["logits"])
    assert loaded_tokenizer.encode("impression: dab positive.") == tokenizer.encode(
        "impression: dab positive."
    )
    assert meta["seed"] == 0
    with pytest.raises(FileNotFoundError, match="medai-edu train generalist"):
        g.load_generalist(tmp_path / "missing.pt")
    (tmp_path / "truncated.pt").write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ValueError, match="not a readable MedDr-mini checkpoint"):
        g.load_generalist(tmp_path / "truncated.pt")
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="no config or tokenizer"):
        g.load_generalist(tmp_path / "other.pt")


def test_train_command_makes_a_loadable_checkpoint(cases, tmp_path, monkeypatch, capsys):
    import functools

    from medai_edu.cli import main

    data = g.GeneralistData(cases, {}, {}, {})
    monkeypatch.setattr(g, "make_generalist_data", lambda **kwargs: data)
    quick = functools.partial(g.train_generalist, pretrain_steps=2, tune_steps=2, depth=1)
    monkeypatch.setattr(g, "train_generalist", quick)
    assert main(["train", "generalist", "--out", str(tmp_path)]) == 0
    assert "trained 1 models" in capsys.readouterr().out
    model, _, meta = g.load_generalist(tmp_path / "meddr-mini.pt")
    assert model.config.depth == 1 and "medai-edu train generalist" in meta["command"]


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    pairs = zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    return all(torch.equal(x, y) for x, y in pairs)


@pytest.mark.parametrize("stage", ["pretrain", "instruction_tune"])
def test_training_on_the_cpu_device_is_the_default(tokenizer, cases, stage):
    examples = g.pretraining_examples(cases)
    runs = []
    for device in ({}, {"device": "cpu"}):
        model = tiny(tokenizer)
        if stage == "pretrain":
            losses = g.pretrain(model, tokenizer, cases, steps=3, batch=4, **device)
        else:
            model = g.add_lora(model)
            losses = g.instruction_tune(model, tokenizer, cases, examples, 3, 4, **device)
        runs.append((losses, model))
    (losses, model), (cpu_losses, cpu_model) = runs
    assert cpu_losses == losses and same_weights(cpu_model, model)
    assert {p.device.type for p in cpu_model.parameters()} == {"cpu"}


def test_the_shipped_model_loads_onto_the_device_asked_for():
    model, _, _ = g.load_generalist()
    on_cpu, _, _ = g.load_generalist(device=torch.device("cpu"))
    assert same_weights(on_cpu, model)
    assert {p.device.type for p in on_cpu.parameters()} == {"cpu"}
