"""Tests of the synthetic whole-slide generator (medai_edu.data.pathology, .pyramid)."""

from __future__ import annotations

import numpy as np
import openslide
import pytest
import tifffile
import torch
from skimage.color import rgb2hed
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from medai_edu.data import pathology as P
from medai_edu.data.pyramid import downsample_by_two, write_pyramid_tiff

SMALL = P.SlideConfig(width=768, height=512)
#: These tests check the rendering and the first generator's rules; the realistic cases
#: (per-type grading, markers, stage, sites) are tested in test_pathology_realism.py.
ORIGINAL = P.CaseConfig.original()


@pytest.fixture(scope="module")
def slides() -> dict[tuple[int, int], P.SyntheticSlide]:
    """One small slide per (tumour type, grade)."""
    return {
        (t, g): P.make_slide(100 + 10 * t + g, SMALL, tumour_type=t, grade=g, cases=ORIGINAL)
        for t in range(3)
        for g in P.GRADES
    }


@pytest.fixture(scope="module")
def cases() -> list[P.PathologyCase]:
    return [P.sample_case(seed, cases=ORIGINAL) for seed in range(1500)]


def concordance_index(risk: np.ndarray, time: np.ndarray, event: np.ndarray) -> float:
    """Harrell's C: share of comparable pairs where the higher risk dies first."""
    earlier = (time[:, None] < time[None, :]) & (event[:, None] == 1)
    higher = risk[:, None] > risk[None, :]
    ties = risk[:, None] == risk[None, :]
    return float((higher[earlier].sum() + 0.5 * ties[earlier].sum()) / earlier.sum())


# ---- determinism and fields --------------------------------------------------------------


def test_same_seed_gives_identical_slide_and_different_seed_differs():
    config = P.SlideConfig(width=384, height=256)
    a, b, c = P.make_slide(7, config), P.make_slide(7, config), P.make_slide(8, config)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.region_mask, b.region_mask)
    np.testing.assert_array_equal(a.genes, b.genes)
    assert a.report == b.report and a.concepts == b.concepts
    assert (a.survival_months, a.event) == (b.survival_months, b.event)
    assert not np.array_equal(a.image, c.image)
    assert a.report != c.report and a.slide_id != c.slide_id


def test_slide_fields_are_consistent(slides):
    for (tumour_type, grade), slide in slides.items():
        assert slide.image.shape == (512, 768, 3) and slide.image.dtype == np.uint8
        assert slide.region_mask.shape == (512, 768) and slide.region_mask.max() < 5
        assert (slide.tumour_type, slide.grade) == (tumour_type, grade)
        assert set(slide.concepts) == set(P.CONCEPT_NAMES)
        scores = [slide.concepts[k] for k in ("architecture_score", "nuclear_pleomorphism")]
        assert P.grade_from_concepts(*scores, slide.concepts["mitotic_count"]) == grade
        assert slide.concepts["gland_formation"] <= (tumour_type == P.ADENO)
        assert slide.concepts["keratinisation"] <= (tumour_type == P.SQUAMOUS)
        tissue = slide.region_mask > 0
        measured = (slide.region_mask == P.TUMOUR).sum() / tissue.sum()
        assert slide.concepts["tumour_fraction"] == pytest.approx(measured, abs=1e-3)
        target = P.sample_case(slide.seed, tumour_type, grade, ORIGINAL).concepts["tumour_fraction"]
        assert measured == pytest.approx(target, abs=0.05)  # the layout hits its target
        assert (slide.region_mask == P.NECROSIS).any() == bool(slide.concepts["necrosis"])
        assert slide.genes.shape == (len(P.GENE_NAMES),) and slide.genes.dtype == np.float32
        assert slide.survival_months > 0 and slide.event in (0, 1)


def test_tumour_type_accepts_names_and_bad_arguments_raise():
    assert P.sample_case(1, tumour_type="Squamous cell carcinoma").tumour_type == P.SQUAMOUS
    with pytest.raises(ValueError, match="unknown tumour type"):
        P.make_slide(0, SMALL, tumour_type="melanoma")
    with pytest.raises(ValueError, match="tumour_type"):
        P.sample_case(0, tumour_type=3)
    with pytest.raises(ValueError, match="grade"):
        P.sample_case(0, grade=4)
    with pytest.raises(ValueError, match="seed"):
        P.sample_case(-1)
    with pytest.raises(ValueError, match="width"):
        P.SlideConfig(width=0)
    with pytest.raises(ValueError, match="mpp"):
        P.SlideConfig(mpp=-0.5)
    with pytest.raises(ValueError, match="SlideConfig"):
        P.make_slide(0, config={"width": 512})
    with pytest.raises(ValueError, match="positive integer"):
        P.make_slide_cohort(0, "unused")


# ---- the pyramidal TIFF ------------------------------------------------------------------


def test_tiff_opens_in_openslide_and_tifffile_with_same_levels(tmp_path):
    slide = P.make_slide(3, P.SlideConfig(width=1100, height=600))  # odd level sizes
    path = P.write_slide(slide, tmp_path / "slide.tiff")
    with openslide.OpenSlide(path) as osr, tifffile.TiffFile(path) as tif:
        levels = tif.series[0].levels
        assert osr.properties[openslide.PROPERTY_NAME_VENDOR] == "generic-tiff"
        assert osr.level_count == len(levels) == 3
        assert [(lv.shape[1], lv.shape[0]) for lv in levels] == list(osr.level_dimensions)
        assert osr.level_dimensions[0] == (1100, 600)
        assert float(osr.properties[openslide.PROPERTY_NAME_MPP_X]) == pytest.approx(0.5)
        assert float(osr.properties[openslide.PROPERTY_NAME_MPP_Y]) == pytest.approx(0.5)
        description = osr.properties.get("tiff.ImageDescription", "")
        assert slide.tumour_type_name not in description and "grade" not in description
        region = np.asarray(osr.read_region((0, 0), 0, (1100, 600)))  # RGBA
        np.testing.assert_array_equal(region[..., :3], slide.image)
        assert (region[..., 3] == 255).all()
        np.testing.assert_array_equal(levels[0].asarray(), slide.image)
        np.testing.assert_array_equal(levels[1].asarray(), downsample_by_two(slide.image))
        assert tif.pages[0].compression == tifffile.COMPRESSION.ADOBE_DEFLATE
        assert tif.pages[0].is_tiled and tif.pages[1].subfiletype == 1


def test_downsample_averages_blocks_and_writer_rejects_bad_input(tmp_path):
    image = np.array([[[0], [10], [20]], [[2], [12], [22]]], np.uint8).repeat(3, axis=2)
    np.testing.assert_array_equal(downsample_by_two(image)[..., 0], [[6, 21]])
    with pytest.raises(ValueError, match="uint8"):
        write_pyramid_tiff(tmp_path / "x.tif", np.zeros((64, 64, 3), np.float32), mpp=0.5)
    with pytest.raises(ValueError, match="mpp"):
        write_pyramid_tiff(tmp_path / "x.tif", np.zeros((64, 64, 3), np.uint8), mpp=0)
    with pytest.raises(ValueError, match="multiple of 16"):
        write_pyramid_tiff(tmp_path / "x.tif", np.zeros((64, 64, 3), np.uint8), 0.5, tile=100)


# ---- colour and morphology ---------------------------------------------------------------


def test_colour_is_he_like(slides):
    for slide in slides.values():
        hed = rgb2hed(slide.image)
        background = slide.region_mask == P.BACKGROUND
        tumour, stroma = slide.region_mask == P.TUMOUR, slide.region_mask == P.STROMA
        assert slide.image[background].mean() > 225  # near-white glass
        assert hed[tumour, 0].mean() > hed[stroma, 0].mean()  # tumour is nuclei-rich
        assert hed[stroma, 1].mean() > hed[background, 1].mean() + 0.005  # eosin in stroma
        red, green, blue = slide.image[stroma].mean(axis=0)
        assert red > blue > green  # pink: eosin absorbs green most


def test_stain_variation_changes_stain_vectors():
    fixed = P.SlideConfig(width=256, height=256, stain_variation=0.0)
    np.testing.assert_allclose(
        P.make_slide(1, fixed).stain_matrix, P.REFERENCE_STAIN_MATRIX, atol=1e-6
    )
    varied = [P.make_slide(s, P.SlideConfig(width=256, height=256)).stain_matrix for s in (1, 2)]
    assert not np.allclose(varied[0], varied[1])


def test_simple_tile_features_predict_tumour_type():
    """Slide-level mean of colour features of tumour tiles separates the three types."""
    config = P.SlideConfig(width=640, height=512)
    features, types = [], []
    for i in range(18):
        slide = P.make_slide(
            7000 + i, config, tumour_type=i % 3, grade=1 + (i // 3) % 3, cases=ORIGINAL
        )
        tiles = P.cut_tiles(slide, 128, min_tissue=0.9)
        tumour = tiles.tiles[tiles.labels == P.TUMOUR].astype(np.float32)
        grey = tumour.mean(axis=-1)
        optical_density = -np.log((tumour + 1) / 256).reshape(len(tumour), -1, 3)
        per_tile = np.column_stack(
            [
                (grey < 110).mean(axis=(1, 2)),  # nuclei
                (grey > 200).mean(axis=(1, 2)),  # lumina
                optical_density.mean(axis=1),
                optical_density.std(axis=1),
            ]
        )
        features.append(per_tile.mean(axis=0))
        types.append(slide.tumour_type)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    accuracy = cross_val_score(model, np.array(features), np.array(types), cv=folds).mean()
    assert accuracy >= 0.55  # chance is 1/3


# ---- genes, survival, report -------------------------------------------------------------


def pathway_means(cases, pathway):
    genes = np.stack([c.genes for c in cases])
    columns = [P.GENE_NAMES.index(g) for g in P.PATHWAYS[pathway]]
    return genes[:, columns].mean(axis=1)


def test_gene_pathways_follow_type_grade_and_concepts(cases):
    types = np.array([c.tumour_type for c in cases])
    grades = np.array([c.grade for c in cases])
    proliferation = pathway_means(cases, "proliferation")
    by_grade = [proliferation[grades == g].mean() for g in P.GRADES]
    assert by_grade[0] < by_grade[1] < by_grade[2]
    for t, pathway in enumerate(("glandular", "squamous", "neuroendocrine")):
        score = pathway_means(cases, pathway)
        assert score[types == t].mean() > score[types != t].mean() + 1.0
    infiltrate = np.array([c.concepts["lymphocytic_infiltrate"] for c in cases])
    assert np.corrcoef(pathway_means(cases, "immune"), infiltrate)[0, 1] > 0.6
    necrosis = np.array([c.concepts["necrosis"] for c in cases])
    hypoxia = pathway_means(cases, "hypoxia")
    assert hypoxia[necrosis == 1].mean() > hypoxia[necrosis == 0].mean() + 0.5
    genes = np.stack([c.genes for c in cases[:300]])
    accuracy = cross_val_score(LogisticRegression(max_iter=2000), genes, types[:300], cv=3).mean()
    assert accuracy > 0.8


def test_survival_depends_on_grade_and_is_censored(cases):
    grades = np.array([c.grade for c in cases], float)
    months = np.array([c.survival_months for c in cases])
    events = np.array([c.event for c in cases])
    assert 0.25 < 1 - events.mean() < 0.45  # realistic censoring
    means = [months[grades == g].mean() for g in P.GRADES]
    assert means[0] > means[1] > means[2]
    assert concordance_index(grades, months, events) > 0.6
    risk = np.array([P.log_hazard_ratio(c.tumour_type, c.grade, c.concepts) for c in cases])
    assert concordance_index(risk, months, events) > 0.65


def test_report_states_diagnosis_grade_and_concepts(slides):
    names = {0: "adenocarcinoma", 1: "squamous cell carcinoma", 2: "small cell carcinoma"}
    for (tumour_type, grade), slide in slides.items():
        diagnosis = slide.report.split("Diagnosis:")[1].lower()
        assert names[tumour_type] in diagnosis and f"grade {grade}" in diagnosis
        percent = int(5 * round(100 * slide.concepts["tumour_fraction"] / 5))
        assert f"{percent}%" in slide.report
        assert f"{slide.concepts['mitoses_per_2mm2']} " in slide.report
        necrosis_absent = "no tumour necrosis" in slide.report.lower() or "absent" in slide.report
        assert necrosis_absent != bool(slide.concepts["necrosis"])
    wordings = {P.sample_case(s, "adenocarcinoma", 2).report.splitlines()[0] for s in range(20)}
    assert len(wordings) > 1  # wording varies with the seed


# ---- tiles and cohorts -------------------------------------------------------------------


def test_cut_tiles_labels_and_tissue_match_the_mask(slides):
    slide = slides[(P.SQUAMOUS, 2)]
    tiles, coords, labels, tissue = P.cut_tiles(slide, tile_size=128, stride=64, min_tissue=0.5)
    assert tiles.shape == (len(coords), 128, 128, 3) and len(labels) == len(tissue) > 10
    for tile, (x, y), label, fraction in zip(tiles, coords, labels, tissue, strict=True):
        np.testing.assert_array_equal(tile, slide.image[y : y + 128, x : x + 128])
        patch = slide.region_mask[y : y + 128, x : x + 128]
        assert fraction == pytest.approx((patch > 0).mean()) and fraction >= 0.5
        assert label == np.bincount(patch.ravel(), minlength=5)[1:].argmax() + 1
    assert len(P.cut_tiles(slide, 128).labels) < len(labels)  # no overlap: fewer tiles
    with pytest.raises(ValueError, match="tile_size"):
        P.cut_tiles(slide, tile_size=0)


def test_tile_dataset_yields_float_tensors(slides):
    chosen = [slides[(0, 1)], slides[(2, 3)]]
    dataset = P.TileDataset.from_slides(chosen, tile_size=96, label="tumour_type")
    image, label = dataset[len(dataset) - 1]
    assert isinstance(image, torch.Tensor) and image.shape == (3, 96, 96)
    assert image.dtype == torch.float32 and 0.0 <= image.min() and image.max() <= 1.0
    assert label == 2 and set(np.unique(dataset.slide_index)) == {0, 1}
    loader = torch.utils.data.DataLoader(dataset, batch_size=8)
    assert next(iter(loader))[0].shape == (8, 3, 96, 96)


def test_cohort_is_balanced_and_reloads(tmp_path):
    config = P.SlideConfig(width=256, height=256)
    cohort = P.make_slide_cohort(9, tmp_path / "cohort", seed=3, config=config, progress=False)
    assert len(cohort) == 9 and all(f.is_file() for f in cohort.files)
    assert np.bincount(cohort.tumour_type).tolist() == [3, 3, 3]
    # Per-type grading: grades 1-3 of the other types, three grade-3 small cell carcinomas.
    assert np.bincount(cohort.grade, minlength=4)[1:].tolist() == [2, 2, 5]
    assert (cohort.grade[cohort.tumour_type == P.SMALL_CELL] == 3).all()
    assert set(cohort.stage.tolist()) <= {1, 2, 3, 4}
    reloaded = P.SlideCohort.load(tmp_path / "cohort")
    np.testing.assert_array_equal(reloaded.stage, cohort.stage)
    np.testing.assert_array_equal(reloaded.genes, cohort.genes)
    slide = P.make_slide(
        int(cohort.seeds[4]), config, int(cohort.tumour_type[4]), int(cohort.grade[4])
    )
    assert reloaded.reports[4] == slide.report and reloaded.slide_ids[4] == slide.slide_id
    assert reloaded.survival_months[4] == slide.survival_months
    assert reloaded.concepts["tumour_fraction"][4] == slide.concepts["tumour_fraction"]
    np.testing.assert_array_equal(reloaded.read_image(4), slide.image)
    assert reloaded.region_mask(4).shape == (64, 64)
    with reloaded.open_slide(0) as osr:
        assert osr.dimensions == (256, 256)
    with pytest.raises(FileNotFoundError):
        P.SlideCohort.load(tmp_path)
