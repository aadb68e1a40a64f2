"""The fusion experiment wiring: loaders, training with a budget, the AUROC table."""

import math

from medai_edu.experiments.breast_fusion import (
    auroc_table,
    late_fusion,
    make_fusion_data,
    train_model,
)


def test_small_fusion_experiment_produces_the_full_table():
    data = make_fusion_data(n_train=24, n_val=12, n_test=16, batch_size=12)
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
