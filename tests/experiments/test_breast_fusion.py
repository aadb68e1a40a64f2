"""The fusion experiment wiring: loaders, training with a budget, the AUROC table."""

import math

import pytest
import torch

from medai_edu.experiments.breast_fusion import (
    TEACHING_CHECKPOINTS,
    auroc_table,
    late_fusion,
    load_contenders,
    make_fusion_data,
    save_contenders,
    train_model,
)


def test_small_fusion_experiment_produces_the_full_table():
    data = make_fusion_data(n_train=24, n_val=12, n_test=16, batch_size=12, n_neoadjuvant=None)
    assert {int(s) for _, t in data.external for s in t["site"]} == {2}
    assert 2 not in {int(s) for _, t in data.train for s in t["site"]}
    trained = {
        name: train_model(name, data, epochs=1, progress=False)
        for name in ("dce", "t2", "dwi", "mome-mini")
    }
    trained["late fusion"] = late_fusion(trained)
    rows = auroc_table(trained, data)
    assert len(rows) == 5 * 4  # five models, none or one of three modalities missing
    by_key = {(r["model"], r["missing"]): r for r in rows}
    assert math.isnan(by_key[("t2", "t2")]["test"])
    assert by_key[("t2", "dce")]["test"] == by_key[("t2", "none")]["test"]
    assert 0 <= by_key[("mome-mini", "dwi")]["external"] <= 1
    assert by_key[("mome-mini", "none")]["test"] != by_key[("mome-mini", "dce")]["test"]


def test_contenders_round_trip_through_checkpoints(tmp_path):
    data = make_fusion_data(n_train=16, n_val=8, n_test=8, batch_size=8, n_neoadjuvant=None)
    trained = {
        name: train_model(name, data, epochs=1, progress=False)
        for name in ("dce", "t2", "dwi", "early fusion", "mome-mini")
    }
    paths = save_contenders(trained, tmp_path, seed=0)
    assert {p.name for p in paths} == {
        "dce.pt",
        "t2.pt",
        "dwi.pt",
        "early-fusion.pt",
        "mome-mini.pt",
    }
    loaded = load_contenders(tmp_path)
    assert set(loaded) == {"dce", "t2", "dwi", "early fusion", "mome-mini", "late fusion"}
    assert loaded["mome-mini"].history.records == trained["mome-mini"].history.records
    inputs, _ = next(iter(data.test))
    for name in ("early fusion", "mome-mini"):
        torch.testing.assert_close(
            loaded[name].model(inputs)["malignant"],
            trained[name].model.eval()(inputs)["malignant"],
        )


def test_loading_needs_real_checkpoints(tmp_path):
    with pytest.raises(FileNotFoundError, match="medai-edu train breast-fusion"):
        load_contenders(tmp_path)
    (tmp_path / "resnet.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a breast-fusion contender"):
        load_contenders(tmp_path)


def test_shipped_teaching_checkpoints_load():
    trained = load_contenders(TEACHING_CHECKPOINTS)
    assert {"mome-mini", "early fusion", "late fusion", "dce", "t2", "dwi"} <= set(trained)
    assert trained["mome-mini"].history.best["val_auroc"] > 0.8
    # named explicitly, the shipped folder is still read through create_model's checksums
    assert trained["mome-mini"].model.pretrained_cfg["tag"] == "breast-mri"
