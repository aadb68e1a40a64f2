"""The realistic pathology generator: per-type grading, lineage markers, stage, patients,
sites, small tumour foci and morphology-only reports (and the first generator, kept)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from medai_edu import metrics
from medai_edu.data import pathology as P
from medai_edu.data.pathology.survival import _STAGE_LOG_HAZARD

ORIGINAL = P.CaseConfig.original()


@pytest.fixture(scope="module")
def cases() -> list[P.PathologyCase]:
    return [P.sample_case(seed) for seed in range(3000)]


@pytest.fixture(scope="module")
def bags() -> P.SlideBags:
    return P.make_slide_bags(45, seed=3)


def by_type(cases, tumour_type):
    return [c for c in cases if c.tumour_type == tumour_type]


# ---- the first generator is kept ----------------------------------------------------------


def test_original_reproduces_the_first_generator_draw_for_draw():
    digest = hashlib.sha256()
    for seed in range(20):
        c = P.sample_case(seed, cases=ORIGINAL)
        fields = (c.tumour_type, c.grade, c.survival_months, c.event)
        digest.update(repr((*fields, sorted(c.concepts.items()), c.report)).encode())
        digest.update(c.genes.tobytes())
    assert digest.hexdigest()[:16] == "c2cc9c1bc7e83f35"  # recorded before the change
    digest = hashlib.sha256()
    for seed in range(2):
        slide = P.make_slide(seed, P.SMALL_SLIDE, cases=ORIGINAL)
        digest.update(slide.image.tobytes() + slide.region_mask.tobytes())
        digest.update(slide.report.encode())
    assert digest.hexdigest()[:16] == "9b1b7f113c8f2bf3"
    old = P.make_slide_bags(
        3, 0, P.SMALL_SLIDE, max_tiles=48, cases=ORIGINAL, n_sites=0, slides_per_patient=1
    )
    assert hashlib.sha256(old.tiles.numpy().tobytes()).hexdigest()[:16] == "577bb1295d0ebeb6"


def test_case_config_rejects_bad_values():
    with pytest.raises(ValueError, match="grading"):
        P.CaseConfig(grading="gleason")
    with pytest.raises(ValueError, match="small_foci_share"):
        P.CaseConfig(small_foci_share=1.5)
    with pytest.raises(ValueError, match="cases must be a CaseConfig"):
        P.sample_case(0, cases="realistic")


# ---- grading per type ---------------------------------------------------------------------


def test_small_cell_carcinoma_is_always_high_grade_with_many_mitoses(cases):
    small = by_type(cases, P.SMALL_CELL)
    assert {c.grade for c in small} == {3}
    assert min(c.concepts["mitoses_per_2mm2"] for c in small) > 10  # WHO: > 10 per 2 mm2
    assert np.median([c.concepts["mitoses_per_2mm2"] for c in small]) >= 50
    assert min(c.markers["Ki-67"] for c in small) >= 0.6
    with pytest.raises(ValueError, match="high grade by definition"):
        P.sample_case(1, tumour_type="small cell carcinoma", grade=1)
    # The first generator still grades it 1-3 (kept for old results).
    assert P.sample_case(1, "small cell carcinoma", 1, ORIGINAL).grade == 1


def test_adenocarcinoma_and_squamous_are_graded_by_pattern_and_keratinisation(cases):
    for tumour_type in (P.ADENO, P.SQUAMOUS):
        group = by_type(cases, tumour_type)
        assert {c.grade for c in group} == {1, 2, 3}
        # The pattern (glands / keratin pearls) is the grade, not a sum of three scores.
        assert all(c.concepts["architecture_score"] == c.grade - 1 for c in group)
        mitoses = {g: np.mean([c.concepts["mitotic_count"] for c in group if c.grade == g])
                   for g in (1, 2, 3)}  # fmt: skip
        assert mitoses[1] < mitoses[2] < mitoses[3]  # mitoses follow the grade loosely
    flag = {P.ADENO: "gland_formation", P.SQUAMOUS: "keratinisation"}
    for tumour_type, name in flag.items():
        assert all(c.concepts[name] == (c.grade < 3) for c in by_type(cases, tumour_type))


# ---- markers ------------------------------------------------------------------------------


def test_lineage_markers_follow_real_rates(cases):
    def rate(tumour_type, marker):
        return np.mean([c.markers[marker] for c in by_type(cases, tumour_type)])

    assert 0.65 < rate(P.ADENO, "TTF-1") < 0.85
    assert 0.75 < rate(P.SMALL_CELL, "TTF-1") < 0.95  # most small cell carcinomas
    assert rate(P.SQUAMOUS, "TTF-1") < 0.08
    assert rate(P.SQUAMOUS, "p40") > 0.9 and rate(P.ADENO, "p40") < 0.08
    assert rate(P.SMALL_CELL, "synaptophysin") > 0.8 and rate(P.ADENO, "napsin A") > 0.7
    # NKX2-1 (the TTF-1 gene) is expressed in TTF-1-positive small cell carcinomas too.
    index = P.GENE_NAMES.index("NKX2-1")
    small = by_type(cases, P.SMALL_CELL)
    positive = np.mean([c.genes[index] for c in small if c.markers["TTF-1"]])
    negative = np.mean([c.genes[index] for c in small if not c.markers["TTF-1"]])
    assert positive - negative > 1.5


# ---- stage and survival -------------------------------------------------------------------


def test_stage_follows_size_nodes_and_metastasis(cases):
    for c in cases[:300]:
        s = c.staging
        assert c.stage == 4 if s["metastasis"] else c.stage in (1, 2, 3)
        if not s["metastasis"] and s["nodes"] >= 2:
            assert c.stage == 3
        if c.stage == 1:
            assert s["nodes"] == 0 and s["size_cm"] <= 4
    stage = np.array([c.stage for c in cases])
    assert set(stage.tolist()) == {1, 2, 3, 4} and np.mean(stage == 1) > 0.3
    small = np.array([c.tumour_type == P.SMALL_CELL for c in cases])
    assert np.mean(stage[small] == 4) > 3 * np.mean(stage[~small] == 4)


def test_survival_carries_prognosis_beyond_type_and_grade(cases):
    months = np.array([c.survival_months for c in cases])
    event = np.array([c.event for c in cases])

    def c_index(risk):
        return metrics.concordance_index(np.asarray(risk, float), event, months)

    stage = [_STAGE_LOG_HAZARD[c.stage - 1] for c in cases]
    type_grade = [0.4 * c.grade + (0.0, 0.15, 0.6)[c.tumour_type] for c in cases]
    readable = [
        t + 0.6 * c.concepts["necrosis"] - 0.55 * c.concepts["lymphocytic_infiltrate"]
        for t, c in zip(type_grade, cases, strict=True)
    ]
    assert c_index(stage) > 0.62
    # Necrosis and lymphocytes, seen on the slide, add to stage, type and grade.
    with_stage = np.add(stage, type_grade)
    assert c_index(np.add(stage, readable)) > c_index(with_stage) + 0.015
    oracle = P.survival_oracle_cindex(n=1500)
    assert oracle["oracle"] > oracle["slide_only"] > c_index(type_grade)
    brisk = [c.survival_months for c in cases if c.concepts["lymphocytic_infiltrate"] == 2]
    sparse = [c.survival_months for c in cases if c.concepts["lymphocytic_infiltrate"] == 0]
    assert np.median(brisk) > np.median(sparse)


# ---- reports ------------------------------------------------------------------------------


def test_morphology_reports_never_name_the_type_or_grade_but_diagnostic_ones_do(cases):
    banned = ("adenocarcinoma", "squamous cell carcinoma", "small cell carcinoma", "grade",
              "differentiated")  # fmt: skip
    for c in cases[:300]:
        text = c.report.lower()
        assert not any(word in text for word in banned), c.report
        assert "microscopic description" in text
    leaky = P.CaseConfig(report="diagnostic")
    for seed in range(30):
        case = P.sample_case(seed, cases=leaky)
        assert P.TUMOUR_TYPES[case.tumour_type].split()[0] in case.report.lower()
    assert (
        "Small cell carcinoma (high-grade"
        in P.sample_case(0, "small cell carcinoma", 3, leaky).report
    )


def test_small_focus_reports_say_so():
    small = [c for c in (P.sample_case(s) for s in range(400))
             if c.concepts["tumour_fraction"] < 0.05]  # fmt: skip
    assert 0.08 < len(small) / 400 < 0.22
    assert any("small focus" in c.report for c in small)


# ---- bags: tiles, patients, sites, small foci ---------------------------------------------


def test_bag_tiles_are_64_microns_and_every_tissue_tile_is_kept(bags):
    assert bags.mpp == 1.0 and bags.tiles.shape[-1] == 64  # 64 µm: a gland or a pearl fits
    count = bags.tile_mask.sum(1)
    assert count.min() >= 20 and count.max() < bags.tiles.shape[1]  # none dropped


def test_patients_have_several_slides_with_one_case_and_one_site(bags):
    patients, counts = torch.unique(bags.patient, return_counts=True)
    assert counts.max() >= 2 and (counts == 1).any()
    for p in patients[counts >= 2]:
        rows = (bags.patient == p).nonzero().flatten()
        for field in ("tumour_type", "grade", "stage", "site", "months"):
            assert len(set(getattr(bags, field)[rows].tolist())) == 1, field
        first, second = bags.tiles[rows[0]], bags.tiles[rows[1]]
        assert not torch.equal(first, second)  # another block of the same tumour
    assert set(bags.site.tolist()) == {0, 1, 2}


def test_sites_stain_and_scan_their_own_way():
    sites = P.make_sites(3, seed=0)
    a, b = (P.make_slide(s, P.BAG_SLIDE, site=sites[0]) for s in (5, 6))
    c = P.make_slide(5, P.BAG_SLIDE, site=sites[1])
    np.testing.assert_array_equal(a.stain_matrix, b.stain_matrix)  # one protocol per site
    assert np.abs(a.stain_matrix - c.stain_matrix).max() > 0.01
    assert (a.site, c.site) == (0, 1) and a.report == c.report  # same case, other site
    assert len({s.blur_um for s in sites}) == 3
    with pytest.raises(ValueError, match="positive integer"):
        P.make_sites(0)


def test_small_foci_give_a_low_witness_rate():
    bags = P.make_slide_bags(40, seed=11, n_sites=0, slides_per_patient=1)
    tumour_share = (bags.tile_region == P.TUMOUR).sum(1) / bags.tile_mask.sum(1)
    low = (bags.concepts["tumour_fraction"] < 0.05).numpy()
    assert 0.03 <= low.mean() <= 0.35
    assert (tumour_share[low] <= 0.05).all()
    assert tumour_share[~low].median() > 0.2


def test_render_draws_the_slide_behind_a_bag_again(bags):
    i = int(torch.nonzero(bags.site == 1)[0])
    slide = bags.render(i)
    assert slide.site == 1 and slide.report == bags.reports[i]
    first = int(bags.tile_mask[i].nonzero()[0])
    row, col = bags.grid[i, first].tolist()
    tile = slide.image[row * 64 : (row + 1) * 64, col * 64 : (col + 1) * 64]
    np.testing.assert_array_equal(tile.transpose(2, 0, 1), bags.tiles[i, first].numpy())
    picked = bags.subset([i])
    assert picked.render(0).slide_id == slide.slide_id
    plain = P.make_slide_bags(2, 0, P.SMALL_SLIDE, cases=ORIGINAL, n_sites=0, slides_per_patient=1)
    plain.seed = None
    with pytest.raises(ValueError, match="do not record"):
        plain.render(0)
