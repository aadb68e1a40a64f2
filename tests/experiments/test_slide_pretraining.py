"""mSTAR-mini's teaching checkpoints: save, load, the training command, the shipped ones."""

import functools

import numpy as np
import pytest
import torch

from medai_edu.cli import main
from medai_edu.experiments import slide_pretraining as sp
from medai_edu.models import create_model
from medai_edu.retrieval import EmbeddingIndex, precision_at_k


@pytest.fixture(scope="module")
def bags():
    return sp.make_slide_bags(9, seed=5, max_tiles=8)


def test_encoders_round_trip_through_checkpoints(bags, tmp_path):
    encoders = sp.pretrain_all(bags, simclr_steps=2, stage1_steps=2, stage2_steps=2)
    paths = sp.save_encoders(encoders, tmp_path, seed=0)
    assert sorted(p.name for p in paths) == ["random.pt", "stage1.pt", "stage2.pt", "tiles_only.pt"]
    loaded = sp.load_encoders(tmp_path)
    assert loaded.losses == encoders.losses
    assert torch.equal(
        loaded.tokenizer.transform(bags.reports), encoders.tokenizer.transform(bags.reports)
    )
    for key in ("random", "stage2"):
        np.testing.assert_allclose(
            sp.slide_embeddings(getattr(loaded, key), bags, "aggregator"),
            sp.slide_embeddings(getattr(encoders, key), bags, "aggregator"),
            rtol=1e-5,
            atol=1e-6,
        )


def test_loading_names_the_missing_checkpoints(tmp_path):
    with pytest.raises(FileNotFoundError, match="medai-edu train slide-pretraining"):
        sp.load_encoders(tmp_path)


def test_train_command_saves_loadable_checkpoints(tmp_path, monkeypatch, capsys):
    quick = functools.partial(sp.pretrain_all, simclr_steps=2, stage1_steps=2, stage2_steps=2)
    monkeypatch.setattr(sp, "pretrain_all", quick)
    monkeypatch.setattr(
        sp,
        "train_teaching_checkpoints",
        functools.partial(sp.train_teaching_checkpoints, n_slides=3),
    )
    assert main(["train", "slide-pretraining", "--seed", "1", "--out", str(tmp_path)]) == 0
    assert "trained 4 models" in capsys.readouterr().out
    assert len(sp.load_encoders(tmp_path).losses["stage1"]) == 2


def test_shipped_checkpoints_search_better_than_random_weights():
    encoders = sp.load_encoders()
    for stage in ("simclr", "stage1", "stage2"):
        losses = encoders.losses[stage]
        assert np.mean(losses[-10:]) < np.mean(losses[:10]), stage
    archive = sp.make_slide_bags(18, seed=9, max_tiles=12)
    y = archive.tumour_type.numpy()
    precision = {}
    for key, how in (("random", "mean"), ("stage2", "aggregator")):
        index = EmbeddingIndex().fit(sp.slide_embeddings(getattr(encoders, key), archive, how))
        neighbours = index.search(index.embeddings, k=3, exclude_self=True).index
        precision[key] = precision_at_k(y, y[neighbours])
    assert precision["stage2"] > precision["random"] + 0.1


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    pairs = zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    return all(torch.equal(x, y) for x, y in pairs)


def test_mil_training_on_the_cpu_device_is_the_default(bags):
    runs = []
    for device in ({}, {"device": "cpu"}):
        torch.manual_seed(0)
        model = create_model("mstar-mini", aggregator="abmil")
        runs.append((sp.train_mil(model, bags, steps=3, batch=4, **device), model))
    (losses, model), (cpu_losses, cpu_model) = runs
    assert cpu_losses == losses and same_weights(cpu_model, model)
    assert {p.device.type for p in cpu_model.parameters()} == {"cpu"}


def test_pretraining_on_the_cpu_device_is_the_default(bags):
    default = sp.pretrain_all(bags, simclr_steps=2, stage1_steps=2, stage2_steps=2)
    on_cpu = sp.pretrain_all(bags, 2, 2, 2, device=torch.device("cpu"))
    assert on_cpu.losses == default.losses
    for key in sp.ENCODER_NAMES:
        assert same_weights(getattr(on_cpu, key), getattr(default, key)), key
        assert {p.device.type for p in getattr(on_cpu, key).parameters()} == {"cpu"}, key
