"""The demo's logic without the web server: predictions, prompts, retrieval, the bundle."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from medai_edu.demos import breast_mri, chat
from medai_edu.demos.app import contribution_figure
from medai_edu.demos.bundle import (
    DEMO_CHECKPOINTS,
    EXAMPLE_SEED,
    example_slides,
    load_demo_models,
)
from medai_edu.models.mome import modality_contributions


@pytest.fixture(scope="module")
def models():
    return load_demo_models()


@pytest.fixture(scope="module")
def cohort():
    from medai_edu.data.breast_mri import make_breast_mri_cohort

    return make_breast_mri_cohort(3, seed=EXAMPLE_SEED)


def test_one_batched_pass_gives_the_library_s_contributions(models, cohort):
    for i in range(len(cohort)):
        inputs = breast_mri.example_inputs(cohort, i)
        prediction = breast_mri.predict_mri(models.mome, inputs, switch_off="dwi")
        expected = modality_contributions(models.mome, inputs)[0].tolist()
        assert list(prediction.contributions.values()) == pytest.approx(expected, abs=1e-5)
        full = models.mome(inputs)["malignant"].sigmoid().item()
        assert prediction.malignancy["malignant"] == pytest.approx(full, abs=1e-5)
        without = {**inputs, "present": torch.tensor([[True, True, False]])}
        alone = models.mome(without)["malignant"].sigmoid().item()
        assert prediction.malignancy_without["malignant"] == pytest.approx(alone, abs=1e-5)
        for probabilities in (prediction.malignancy, prediction.subtype, prediction.pcr):
            assert sum(probabilities.values()) == pytest.approx(1.0)


def test_switching_off_a_missing_or_the_only_modality_is_refused(models, cohort):
    inputs = breast_mri.example_inputs(cohort, 0)
    only_dce = {**inputs, "present": torch.tensor([[True, False, False]])}
    with pytest.raises(ValueError, match="not in this case"):
        breast_mri.predict_mri(models.mome, only_dce, switch_off="t2")
    with pytest.raises(ValueError, match="only modality"):
        breast_mri.predict_mri(models.mome, only_dce, switch_off="dce")
    with pytest.raises(ValueError, match="unknown modality"):
        breast_mri.predict_mri(models.mome, inputs, switch_off="pet")
    assert breast_mri.predict_mri(models.mome, only_dce).contributions == {"dce": 0.0}


def test_figures_have_titles_and_labelled_axes(models, cohort):
    inputs = breast_mri.example_inputs(cohort, 0)
    fig = breast_mri.plot_mri_case(inputs, "case")
    for ax in fig.axes[:3]:
        assert ax.get_title() and "mm" in ax.get_xlabel() and "mm" in ax.get_ylabel()
    prediction = breast_mri.predict_mri(models.mome, inputs)
    bars = contribution_figure(prediction)
    assert isinstance(bars, Figure) and bars.canvas.manager is None  # not pyplot's
    (ax,) = bars.axes
    assert ax.get_title() and "malignancy" in ax.get_title()
    assert ax.get_xlabel() == "modality" and "(nats)" in ax.get_ylabel()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["DCE", "T2", "DWI"]
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx(list(prediction.contributions.values()))


def test_an_archived_image_retrieves_itself_first(models):
    archive = models.archive["pathology"]
    for j in (0, 17, 123):
        found = chat.retrieve(models, "pathology", archive.images[j], k=5)
        assert found[0].index == j
        assert found[0].similarity == pytest.approx(1.0, abs=1e-5)
        assert found[0].diagnosis == archive.diagnoses[archive.diagnosis[j]].lower()
        similarities = [c.similarity for c in found]
        assert similarities == sorted(similarities, reverse=True)


def test_prompt_assembly_and_its_errors(models):
    retrieved = [chat.RetrievedCase(0, "benign", 0.9), chat.RetrievedCase(1, "malignant", 0.8)]
    hint = ("mome-mini", "malignant", 0.81)
    prompt, ids = chat.chat_prompt(models.tokenizer, "breast-mri", "what is it?", retrieved, hint)
    assert prompt == (
        "image: breast mri. similar cases: benign 1 of 2, malignant 1 of 2. "
        "specialist mome-mini: malignant (0.81). question: what is it? answer:"
    )
    assert ids[0] == models.tokenizer.bos_id and models.tokenizer.decode(ids[1:]) == prompt
    with pytest.raises(ValueError, match="empty"):
        chat.chat_prompt(models.tokenizer, "breast-mri", " \n ")
    with pytest.raises(ValueError, match="unknown image kind"):
        chat.chat_prompt(models.tokenizer, "x-ray", "what is it?")
    with pytest.raises(ValueError, match="tokens long"):
        chat.chat_prompt(models.tokenizer, "breast-mri", "what is the margin? " * 40)


def test_the_answer_streams_and_ends(models):
    image = models.archive["ihc"].images[0]
    _, ids = chat.chat_prompt(models.tokenizer, "ihc", "what is the diagnosis?")
    pieces = list(chat.stream_answer(models, image, ids))
    assert len(pieces) >= 2
    assert all(
        later.startswith(earlier[:-1])
        for earlier, later in zip(pieces[:-1], pieces[1:], strict=True)
    )
    greedy = models.tokenizer.decode(
        models.generalist.generate(
            torch.as_tensor(image), ids, max_new_tokens=40, stop_id=models.tokenizer.eos_id
        )
    ).strip()
    assert pieces[-1] == greedy


@pytest.mark.parametrize(
    ("picture", "message"),
    [
        (np.zeros((2, 32, 32, 3)), "2D picture"),
        (np.zeros((32, 32, 5)), "2D picture"),
        (np.zeros((4, 4, 3)), "too small"),
        (np.full((32, 32, 3), np.nan), "NaN"),
    ],
)
def test_a_bad_picture_is_refused(picture, message):
    with pytest.raises(ValueError, match=message):
        chat.prepare_image(picture)


def test_pictures_become_the_model_s_input():
    grey = np.full((50, 70), 128, np.uint8)
    image = chat.prepare_image(grey)
    assert image.shape == (3, 32, 32) and image.dtype == np.float32
    assert image == pytest.approx(128 / 255, abs=1e-3)
    rgba = np.random.default_rng(0).random((64, 64, 4))
    assert chat.prepare_image(rgba).max() <= 1.0


def test_the_shipped_demo_checkpoints_record_how_they_were_made():
    for name in ("slide-classifier.pt", "mri-concepts.pt", "slide-concepts.pt"):
        meta = torch.load(DEMO_CHECKPOINTS / name, weights_only=True)["metadata"]
        assert meta["seed"] == 0
        assert meta["command"] == "medai-edu train demo --seed 0"
    archive = np.load(DEMO_CHECKPOINTS / "generalist-archive.npz")
    assert "medai-edu train demo" in str(archive["provenance"])
    assert archive["pathology/images"].shape == (300, 3, 32, 32)


def test_example_slides_are_written_once(tmp_path):
    first = example_slides(2, tmp_path)
    stamps = [p.stat().st_mtime_ns for p in first]
    again = example_slides(2, tmp_path)
    assert again == first and [p.stat().st_mtime_ns for p in again] == stamps
    assert not list(tmp_path.glob("*.part"))


def test_a_real_aperio_svs_slide_is_read_and_predicted(models):
    """The real CMU-1-Small-Region.svs (Aperio, 0.499 µm/px): tiles at the model's 0.5 µm/px,
    a tumour type, a heatmap over the slide and its reports."""
    from medai_edu.data.samples import he_slide_path
    from medai_edu.demos import slides

    case = slides.read_slide_case(he_slide_path(), "CMU-1-Small-Region")
    assert case.mpp == pytest.approx(0.499, abs=1e-3)
    assert 1 <= len(case.tiles.tiles) <= slides.MAX_TILES
    prediction = slides.predict_slide(models.slides, case)
    assert sum(prediction.probabilities.values()) == pytest.approx(1.0)
    assert prediction.attention.shape == (len(case.tiles.tiles),)
    assert len(prediction.reports) == 3
    fig = slides.plot_attention(case, prediction.attention)
    assert "µm" in fig.axes[0].get_xlabel() and fig.axes[0].get_title()


def test_the_demo_says_how_good_each_mri_answer_is(models):
    quality = breast_mri.head_quality(models.mome)
    figures = json.loads(models.mome.pretrained_cfg["metadata"]["test_figures"])
    assert f"{figures['pcr_auroc']:.2f}" in quality["pcr"] and "neoadjuvant" in quality["pcr"]
    assert f"{figures['subtype_balanced_accuracy']:.2f}" in quality["subtype"]
    assert f"{figures['hospital_c_auroc']:.2f}" in quality["malignancy"]
    untrained = torch.nn.Linear(1, 1)  # no checkpoint, no figures: nothing to claim
    assert breast_mri.head_quality(untrained) == dict.fromkeys(("malignancy", "subtype", "pcr"), "")
