"""mSTAR-mini: shapes, tile masking, errors, tokenizer, and both pretraining stages learning."""

import numpy as np
import pytest
import torch

from medai_edu.experiments.slide_pretraining import (
    attention_heatmap,
    few_shot_auroc,
    few_shot_table,
    make_slide_bags,
    patch_features,
    predict_slides,
    pretrain_all,
    pretrain_tiles_simclr,
    retrieval_recall,
    slide_embeddings,
    train_mil,
    train_stage1,
    train_stage2,
)
from medai_edu.models import create_model
from medai_edu.models.mstar import ReportTokenizer, contrastive_loss


@pytest.fixture(scope="module")
def bags():
    return make_slide_bags(12, seed=3, max_tiles=12)


def batch(bags, n=4):
    return {
        "tiles": bags.float_tiles(slice(0, n)),
        "tile_mask": bags.tile_mask[:n],
        "grid": bags.grid[:n],
    }


@pytest.mark.parametrize("aggregator", ["transmil", "abmil"])
def test_shapes_and_padded_tiles_change_nothing(bags, aggregator):
    torch.manual_seed(0)
    model = create_model("mstar-mini", aggregator=aggregator).eval()
    inputs = batch(bags)
    out = model(inputs)
    assert out["slide"].shape == (4, 64) and out["logits"].shape == (4, 3)
    assert out["attention"].shape == inputs["tile_mask"].shape
    torch.testing.assert_close(out["attention"].sum(1), torch.ones(4))
    # hide the last 4 tiles of slide 0: scrambling them then changes nothing
    mask = inputs["tile_mask"].clone()
    mask[0, -4:] = False
    scrambled = inputs["tiles"].clone()
    scrambled[0, -4:] = torch.rand_like(scrambled[0, -4:])
    a = model({**inputs, "tile_mask": mask})
    b = model({**inputs, "tiles": scrambled, "tile_mask": mask})
    torch.testing.assert_close(a["slide"], b["slide"])
    assert torch.all(a["attention"][0, -4:] == 0)


def test_clear_errors(bags):
    model = create_model("mstar-mini").eval()
    with pytest.raises(ValueError, match="tiles must be"):
        model({"tiles": torch.rand(2, 3, 3, 32, 32)})
    with pytest.raises(ValueError, match="at least one tile"):
        model({**batch(bags, 2), "tile_mask": torch.zeros(2, 12, dtype=torch.bool)})
    with pytest.raises(ValueError, match="aggregator"):
        create_model("mstar-mini", aggregator="mean")


def test_tokenizer_and_contrastive_loss(bags):
    tokenizer = ReportTokenizer(64).fit(bags.reports)
    tokens = tokenizer.transform(bags.reports, max_length=40)
    assert tokens.shape == (12, 40) and tokens.max() < 64 and (tokens[:, 0] > 0).all()
    with pytest.raises(RuntimeError, match="fit"):
        ReportTokenizer().transform(["x"])
    same = torch.randn(8, 16)
    assert contrastive_loss(same, same, 0.1) < contrastive_loss(same, torch.randn(8, 16), 0.1)


def test_both_pretraining_stages_lower_their_losses(bags):
    torch.manual_seed(0)
    model = create_model("mstar-mini").eval()
    simclr = pretrain_tiles_simclr(model, bags, steps=30, batch=32)
    assert np.mean(simclr[-5:]) < np.mean(simclr[:5])
    tokenizer = ReportTokenizer(256).fit(bags.reports)
    stage1 = train_stage1(model, bags, tokenizer, steps=40, batch=12)
    assert np.mean(stage1[-5:]) < 0.8 * np.mean(stage1[:5])
    before = {n: p.clone() for n, p in model.named_parameters()}
    stage2 = train_stage2(model, bags, tokenizer, steps=30, batch=12, tiles_per_slide=6)
    assert np.mean(stage2[-5:]) < np.mean(stage2[:5])
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all(n.startswith("patch_encoder") for n in changed), "aggregator frozen"


def test_downstream_helpers(bags):
    model = create_model("mstar-mini").eval()
    embeddings = slide_embeddings(model, bags)
    assert embeddings.shape == (12, 64)
    # perfectly separable embeddings give AUROC 1 with a single shot per class
    y = np.array([0, 1, 2] * 8)
    x = np.eye(3)[y] + 0.01 * np.random.default_rng(0).normal(size=(24, 3))
    assert few_shot_auroc(x[:12], y[:12], x[12:], y[12:], shots=1, draws=3) == 1.0
    grades = y + 1  # labels need not start at 0
    assert few_shot_auroc(x[:12], grades[:12], x[12:], grades[12:], shots=1, draws=3) == 1.0
    recall = retrieval_recall(x, x)
    assert recall["recall@1"] == 1.0
    assert retrieval_recall(x, x[::-1].copy())["recall@1"] < 1.0


def test_pretrain_all_feeds_the_few_shot_table(bags):
    encoders = pretrain_all(bags, simclr_steps=2, stage1_steps=2, stage2_steps=2)
    assert set(encoders.losses) == {"simclr", "stage1", "stage2"}
    rows = few_shot_table(encoders, bags, bags, shots=(1, 99), label="tumour_type", draws=3)
    assert [r["encoder"][:3] for r in rows] == ["(a)", "(b)", "(c)", "(d)"]  # 99 shots: none
    assert all(r["low"] <= r["auroc"] <= r["high"] and r["shots"] == 1 for r in rows)
    # The same head for every encoder; stage 1 trains no patch weights, so (b) == (c).
    assert {r["head"] for r in rows} == {"mean"}
    assert rows[1]["auroc"] == rows[2]["auroc"]
    abmil = few_shot_table(encoders, bags, bags, shots=(1,), head="abmil", draws=2)
    assert {r["head"] for r in abmil} == {"abmil"} and len(abmil) == 4
    with pytest.raises(ValueError, match="head must be"):
        few_shot_table(encoders, bags, bags, head="max")
    assert not torch.equal(
        encoders.stage2.patch_encoder.net[0].weight, encoders.stage1.patch_encoder.net[0].weight
    )


def test_stage2_distillation_has_a_gradient_at_step_zero(bags):
    """The teacher's target is the aggregator's contextualised token, not the student's
    own feature, so the distillation term pulls the patch encoder from the first step."""
    from medai_edu.experiments.slide_pretraining import _teacher_tokens, self_taught_loss

    torch.manual_seed(0)
    model = create_model("mstar-mini").eval()
    targets = _teacher_tokens(model, bags)
    features = patch_features(model, bags)
    mask = bags.tile_mask
    cosine = torch.nn.functional.cosine_similarity(features[mask], targets[mask], dim=-1)
    assert cosine.mean() < 0.9  # student and teacher differ at step 0
    predictor = torch.nn.Linear(64, 64)
    loss = self_taught_loss(predictor, report_weight=0.0)
    sub = {"tiles": bags.float_tiles(slice(0, 4)), "tile_mask": mask[:4], "grid": bags.grid[:4]}
    loss(model, (sub, None, targets[:4])).backward()
    grad = sum(p.grad.abs().sum() for p in model.patch_encoder.parameters() if p.grad is not None)
    assert grad > 0


def test_stage2_changes_the_patch_features_measurably(bags):
    torch.manual_seed(0)
    model = create_model("mstar-mini").eval()
    tokenizer = ReportTokenizer(256).fit(bags.reports)
    train_stage1(model, bags, tokenizer, steps=20, batch=12)
    before = patch_features(model, bags)[bags.tile_mask]
    train_stage2(model, bags, tokenizer, steps=20, batch=12, tiles_per_slide=6)
    after = patch_features(model, bags)[bags.tile_mask]
    assert torch.nn.functional.cosine_similarity(before, after).mean() < 0.99


def test_attention_heatmap_puts_each_tile_in_its_cell(bags):
    model = create_model("mstar-mini", aggregator="abmil").eval()
    heatmap = attention_heatmap(model, bags, 2)
    assert heatmap.shape == (512 // 64, 512 // 64)  # BAG_SLIDE: 512 px at 1 µm/px
    one = bags.subset([2])
    _, attention = model.encode_slide(patch_features(model, one), one.tile_mask, one.grid)
    rows, cols = one.grid[0, one.tile_mask[0]].T
    np.testing.assert_allclose(
        heatmap[rows, cols], attention[0, one.tile_mask[0]].detach(), rtol=1e-5
    )
    assert np.isnan(heatmap).sum() == heatmap.size - int(one.tile_mask[0].sum())
    assert abs(np.nansum(heatmap) - 1) < 1e-5


def test_mil_training_lowers_the_loss_and_predicts_probabilities(bags):
    torch.manual_seed(0)
    model = create_model("mstar-mini", aggregator="abmil")
    losses = train_mil(model, bags, label="grade", steps=25, batch=12)
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    probabilities = predict_slides(model, bags)
    assert probabilities.shape == (12, 3)
    np.testing.assert_allclose(probabilities.sum(1), 1, rtol=1e-5)
