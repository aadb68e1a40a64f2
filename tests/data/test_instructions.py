"""Diagnosis-guided bootstrapping: image cases, instruction templates, report parsing."""

import re

import numpy as np
import pytest

from medai_edu.data.breast_mri import make_breast_mri_cohort
from medai_edu.data.instructions import (
    FINDING_PHRASES,
    IHC_DAB_THRESHOLD,
    IHC_POSITIVE_FRACTION,
    IMAGE_SIZE,
    MODALITIES,
    ImageCases,
    case_instructions,
    hallucinated_findings,
    make_image_cases,
    make_instruction_cases,
    multiple_choice,
    parse_choice,
    report,
    report_findings,
    vqa_pairs,
)
from medai_edu.data.pathology import TUMOUR_TYPES, CaseConfig
from medai_edu.data.pathology.patient import sample_case
from medai_edu.wsi import separate_stains

SEED = 3
# Pathology renders a slide per case (~0.3 s), so its sample is smaller; with this seed
# it still holds every tumour type and every concept value.
SIZES = {"breast-mri": 60, "pathology": 16, "ihc": 60}


@pytest.fixture(scope="module")
def cases() -> dict[str, ImageCases]:
    return {m: make_image_cases(m, SIZES[m], seed=SEED) for m in MODALITIES}


def options_of(question: str) -> list[str]:
    """The lettered options of a multiple-choice question, in order."""
    return re.findall(r"\([a-z]\) (.+?)(?= \([a-z]\)|\.$)", question)


# --------------------------------------------------------------------------- images


@pytest.mark.parametrize("modality", MODALITIES)
def test_images_shapes_dtypes_and_ranges(cases, modality):
    c = cases[modality]
    n = SIZES[modality]
    assert len(c) == n and c.modality == modality
    assert c.images.shape == (n, 3, IMAGE_SIZE, IMAGE_SIZE)
    assert c.images.dtype == np.float32
    assert c.images.min() >= 0 and c.images.max() <= 1
    assert c.images.std() > 0.05  # not blank
    assert c.diagnosis.dtype == np.int64 and c.diagnosis.shape == (n,)
    assert len(c.case_ids) == n == len(set(c.case_ids))
    for name, values in c.concepts.items():
        assert values.dtype == np.int64 and values.shape == (n,)
        assert set(values) <= set(range(len(c.concept_values[name])))


@pytest.mark.parametrize("modality", MODALITIES)
def test_every_diagnosis_and_concept_value_occurs(cases, modality):
    c = cases[modality]
    assert np.bincount(c.diagnosis, minlength=len(c.diagnoses)).min() >= 1
    for name, values in c.concepts.items():
        assert np.bincount(values, minlength=len(c.concept_values[name])).min() >= 1, name


@pytest.mark.parametrize("modality", MODALITIES)
def test_same_seed_same_cases_and_a_case_ignores_the_rest(cases, modality):
    first = make_image_cases(modality, 3, seed=SEED)
    np.testing.assert_array_equal(first.images, cases[modality].images[:3])
    np.testing.assert_array_equal(first.diagnosis, cases[modality].diagnosis[:3])
    assert first.case_ids == cases[modality].case_ids[:3]
    other = make_image_cases(modality, 3, seed=SEED + 1)
    assert not np.array_equal(other.images, first.images)


def test_breast_mri_labels_are_the_cohorts_own(cases):
    c = cases["breast-mri"]
    cohort = make_breast_mri_cohort(len(c), seed=SEED)
    np.testing.assert_array_equal(c.diagnosis, cohort.malignant)
    np.testing.assert_array_equal(c.concepts["margin"], cohort.margin)
    np.testing.assert_array_equal(c.concepts["kinetic"], cohort.kinetic)
    np.testing.assert_array_equal(c.concepts["diffusion"], cohort.diffusion_restricted)
    assert c.diagnoses == ("benign", "malignant")


def test_breast_mri_restricted_diffusion_darkens_the_adc_channel_at_the_centre(cases):
    c = cases["breast-mri"]
    centre = slice(IMAGE_SIZE // 2 - 3, IMAGE_SIZE // 2 + 3)
    adc = c.images[:, 2, centre, centre].mean(axis=(1, 2))
    restricted = c.concepts["diffusion"] == 1
    assert adc[~restricted].mean() - adc[restricted].mean() > 0.05


def test_pathology_labels_are_the_slides_own(cases):
    c = cases["pathology"]
    assert c.diagnoses == TUMOUR_TYPES
    for i in range(len(c)):
        # What make_slide draws for this seed, with the first generator (MedDr-mini's data).
        case = sample_case(SEED * 100_000 + i, cases=CaseConfig.original())
        assert c.diagnosis[i] == case.tumour_type
        assert c.concepts["glands"][i] == case.concepts["gland_formation"]
        assert c.concepts["keratin"][i] == case.concepts["keratinisation"]
        assert c.concepts["pleomorphism"][i] == case.concepts["nuclear_pleomorphism"]


def test_ihc_diagnosis_follows_the_dab_fraction_of_the_pixels_shown(cases):
    c = cases["ihc"]
    for i in range(len(c)):
        rgb = np.rint(c.images[i].transpose(1, 2, 0) * 255).astype(np.uint8)
        dab = separate_stains(rgb)[..., 2]
        positive = (dab > IHC_DAB_THRESHOLD).mean() >= IHC_POSITIVE_FRACTION
        assert c.diagnosis[i] == int(positive)
    strong, weak = c.concepts["intensity"] == 2, c.concepts["intensity"] == 0
    blue = c.images[:, 2].mean(axis=(1, 2))  # DAB is brown: it absorbs blue
    assert blue[strong].mean() < blue[weak].mean() - 0.1


def test_subset_and_concepts_of(cases):
    c = cases["breast-mri"]
    part = c.subset(c.diagnosis == 1)
    assert len(part) == int(c.diagnosis.sum()) and set(part.diagnosis) == {1}
    picked = c.subset([4, 1])
    np.testing.assert_array_equal(picked.images[0], c.images[4])
    assert picked.case_ids == [c.case_ids[4], c.case_ids[1]]
    assert picked.concepts_of(1) == c.concepts_of(1)
    margin = c.concept_values["margin"][c.concepts["margin"][1]]
    assert c.concepts_of(1)["margin"] == margin
    assert set(c.concepts_of(1)) == {"margin", "kinetic", "diffusion"}


def test_make_instruction_cases_gives_every_modality():
    out = make_instruction_cases(2, seed=SEED)
    assert list(out) == list(MODALITIES)
    assert all(len(c) == 2 and c.modality == m for m, c in out.items())


@pytest.mark.parametrize(
    "modality, n, message",
    [("ct", 5, "choose one of"), ("ihc", 0, "positive"), ("ihc", -2, "positive")],
)
def test_bad_modality_or_n(modality, n, message):
    with pytest.raises(ValueError, match=message):
        make_image_cases(modality, n)


def test_report_findings_rejects_an_unknown_modality():
    with pytest.raises(ValueError, match="choose one of"):
        report_findings("findings: none.", "xray")


# --------------------------------------------------------------------------- templates


@pytest.mark.parametrize("modality", MODALITIES)
def test_vqa_pairs_ask_one_question_per_concept(cases, modality):
    c = cases[modality]
    for i in range(5):
        pairs = vqa_pairs(c, i)
        assert len(pairs) == len(c.concepts)
        assert len({q for q, _ in pairs}) == len(pairs)
        for (question, answer), value in zip(pairs, c.concepts_of(i).values(), strict=True):
            assert question.endswith("?") and answer.endswith(f" {value}.")


def test_vqa_example_from_the_brief(cases):
    c = cases["breast-mri"]
    i = int(np.flatnonzero(c.concepts["margin"] == 2)[0])
    assert ("what is the margin of the lesion?", "the margin is spiculated.") in vqa_pairs(c, i)


@pytest.mark.parametrize("modality", MODALITIES)
def test_multiple_choice_lists_every_diagnosis_once_and_answers_the_truth(cases, modality):
    c = cases[modality]
    rng = np.random.default_rng(0)
    orders = set()
    for i in range(len(c)):
        question, answer = multiple_choice(c, i, rng)
        options = options_of(question)
        assert sorted(options) == sorted(d.lower() for d in c.diagnoses)
        letter = re.fullmatch(r"\(([a-z])\) (.+)\.", answer)
        index = "abcdefghijklmnopqrstuvwxyz".index(letter.group(1))
        assert options[index] == c.diagnoses[c.diagnosis[i]].lower() == letter.group(2)
        orders.add(tuple(options))
        assert parse_choice(answer, options) == index
    assert len(orders) > 1  # the options are shuffled


def test_multiple_choice_without_rng_keeps_the_diagnoses_order(cases):
    c = cases["pathology"]
    for i in range(len(c)):
        question, answer = multiple_choice(c, i)
        letters = "abc"
        listed = " ".join(f"({letters[k]}) {d.lower()}" for k, d in enumerate(c.diagnoses))
        assert question.endswith(f"options: {listed}.")
        k = int(c.diagnosis[i])
        assert answer == f"({letters[k]}) {c.diagnoses[k].lower()}."


def test_multiple_choice_is_deterministic_given_the_rng(cases):
    c = cases["pathology"]
    first = [multiple_choice(c, i, np.random.default_rng(7)) for i in range(4)]
    again = [multiple_choice(c, i, np.random.default_rng(7)) for i in range(4)]
    assert first == again


def test_parse_choice_by_letter_name_or_neither():
    options = ["malignant", "benign"]
    assert parse_choice("(b) benign.", options) == 1
    assert parse_choice("(a)", options) == 0
    assert parse_choice("the lesion looks BENIGN", options) == 1
    assert parse_choice("the margin is spiculated.", options) is None
    assert parse_choice("", options) is None
    assert parse_choice("(a) benign.", options) is None  # letter and name disagree
    assert parse_choice("malignant or benign", options) is None
    assert parse_choice("(d) something", options) is None
    tumours = list(TUMOUR_TYPES)
    assert parse_choice("small cell carcinoma.", tumours) == 2  # not also "cell carcinoma"


@pytest.mark.parametrize("modality", MODALITIES)
def test_report_findings_recover_every_cases_concepts(cases, modality):
    c = cases[modality]
    for i in range(len(c)):
        question, answer = report(c, i)
        assert question == "write a short report."
        assert answer.startswith("findings: ") and answer.endswith(
            f"impression: {c.diagnoses[c.diagnosis[i]].lower()}."
        )
        assert report_findings(answer, modality) == c.concepts_of(i)
        assert hallucinated_findings(answer, c, i) == []


@pytest.mark.parametrize("modality", MODALITIES)
def test_swapping_one_finding_is_exactly_one_hallucination(cases, modality):
    c = cases[modality]
    phrases = FINDING_PHRASES[modality]
    for i in range(6):
        truth = c.concepts_of(i)
        text = report(c, i)[1]
        for concept, value in truth.items():
            for other in c.concept_values[concept]:
                if other == value:
                    continue
                swapped = text.replace(phrases[concept][value], phrases[concept][other])
                assert hallucinated_findings(swapped, c, i) == [f"{concept}: {other}"]
                assert report_findings(swapped, modality) == truth | {concept: other}


def test_a_negated_phrase_is_not_read_as_the_finding_it_contains():
    found = report_findings("findings: no restricted diffusion, washout kinetics.", "breast-mri")
    assert found == {"diffusion": "not restricted", "kinetic": "washout"}
    assert report_findings("restricted diffusion.", "breast-mri") == {"diffusion": "restricted"}
    assert report_findings("no gland formation", "pathology") == {"glands": "absent"}
    assert report_findings("nothing to report", "ihc") == {}


def test_an_omitted_finding_is_not_a_hallucination_but_a_second_wrong_one_is(cases):
    c = cases["ihc"]
    truth = c.concepts_of(0)
    wrong = next(v for v in c.concept_values["nuclei"] if v != truth["nuclei"])
    right_intensity = FINDING_PHRASES["ihc"]["intensity"][truth["intensity"]]
    assert hallucinated_findings(f"findings: {right_intensity}.", c, 0) == []
    text = f"{FINDING_PHRASES['ihc']['nuclei'][truth['nuclei']]}, {wrong} nuclei."
    assert hallucinated_findings(text, c, 0) == [f"nuclei: {wrong}"]


@pytest.mark.parametrize("modality", MODALITIES)
def test_instructions_bundle_every_kind_and_stay_short(cases, modality):
    c = cases[modality]
    rng = np.random.default_rng(1)
    for i in range(len(c)):
        pairs = case_instructions(c, i, rng)
        assert len(pairs) == len(c.concepts) + 2
        assert pairs[-1] == report(c, i)
        for question, answer in pairs:
            assert question == question.lower() and answer == answer.lower()
            assert 0 < len(answer.split()) < 30
