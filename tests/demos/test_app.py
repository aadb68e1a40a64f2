"""Drive every tab of the running demo through its API (gradio_client), with the example
cases and with uploads, and check what comes back."""

from __future__ import annotations

import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

from medai_edu.data.breast_mri import make_breast_mri_cohort
from medai_edu.demos.bundle import EXAMPLE_SEED, N_EXAMPLES, example_slides
from medai_edu.demos.uploads import write_case_dicom_zip, write_case_nifti

pytestmark = pytest.mark.slow


def confidences(label: dict) -> dict[str, float]:
    return {c["label"]: c["confidence"] for c in label["confidences"]}


def assert_probabilities(label: dict, n: int) -> dict[str, float]:
    p = confidences(label)
    assert len(p) == n
    assert sum(p.values()) == pytest.approx(1.0, abs=1e-4)
    assert all(0 <= v <= 1 for v in p.values())
    assert label["label"] == max(p, key=p.get)
    return p


def image(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def assert_picture(path, min_side=100) -> np.ndarray:
    picture = image(path)
    assert picture.ndim == 3 and min(picture.shape[:2]) >= min_side
    assert picture.std() > 5  # something is drawn, not a blank canvas
    return picture


def example_case(i: int):
    return make_breast_mri_cohort(N_EXAMPLES, seed=EXAMPLE_SEED).case(i)


# --------------------------------------------------------------------------- MOME-mini


def predict_mri(client, example="MRI case 1", files=None, switch="none"):
    return client.predict(example, files, switch, api_name="/predict_mri")


def test_mri_example_gives_probabilities_slices_and_contributions(client):
    slices, malignancy, subtype, pcr, contributions, without, details = predict_mri(client)
    assert_picture(slices)
    assert_picture(contributions)
    assert_probabilities(malignancy, 2)
    assert_probabilities(subtype, 4)
    assert_probabilities(pcr, 2)
    assert details["present"] == ["dce", "t2", "dwi"]
    assert set(details["contributions"]) == {"dce", "t2", "dwi"}
    assert without is None or not without.get("confidences")


def test_mri_switching_a_modality_off_changes_the_prediction(client):
    *_, without, details = predict_mri(client, switch="DCE")
    assert details["switched_off"] == "dce"
    p_without = assert_probabilities(without, 2)
    p_all = details["malignancy"]
    # The switched-off prediction is the full one minus DCE's contribution, in logits.
    logit = np.log(p_all["malignant"] / p_all["benign"])
    logit_without = np.log(p_without["malignant"] / p_without["benign"])
    assert logit - logit_without == pytest.approx(details["contributions"]["dce"], abs=1e-3)


@pytest.mark.parametrize("writer", ["nifti", "dicom"])
def test_an_uploaded_case_is_read_like_the_example(client, tmp_path, writer):
    case = example_case(1)
    if writer == "nifti":
        files = [handle_file(str(p)) for p in write_case_nifti(case, tmp_path)]
    else:
        files = [handle_file(str(write_case_dicom_zip(case, tmp_path / "case.zip")))]
    uploaded = predict_mri(client, files=files)[-1]
    example = predict_mri(client, example="MRI case 2")[-1]
    tolerance = 1e-4 if writer == "nifti" else 2e-2  # DICOM stores 16-bit integers
    assert uploaded["malignancy"]["malignant"] == pytest.approx(
        example["malignancy"]["malignant"], abs=tolerance
    )


def test_an_upload_without_t2_is_predicted_with_what_is_there(client, tmp_path):
    paths = [p for p in write_case_nifti(example_case(0), tmp_path) if "t2" not in p.name]
    details = predict_mri(client, files=[handle_file(str(p)) for p in paths])[-1]
    assert details["present"] == ["dce", "dwi"]


# --------------------------------------------------------------------------- mSTAR-mini


def test_slide_example_gives_type_heatmap_and_reports(client):
    thumbnail, heatmap, tumour_type, reports = client.predict(
        "slide 1", None, api_name="/predict_slide"
    )
    assert_picture(thumbnail)
    assert_picture(heatmap)
    assert_probabilities(tumour_type, 3)
    rows = reports["data"]
    assert [r[0] for r in rows] == [1, 2, 3]
    # Archived pathology reports (they describe morphology; they no longer name the type).
    assert all("microscopic description" in r[2].lower() for r in rows)
    similarities = [r[1] for r in rows]
    assert similarities == sorted(similarities, reverse=True)


def test_an_uploaded_slide_is_read_like_the_example(client):
    path = example_slides()[2]
    uploaded = client.predict("slide 1", handle_file(str(path)), api_name="/predict_slide")
    example = client.predict("slide 3", None, api_name="/predict_slide")
    assert confidences(uploaded[2]) == pytest.approx(confidences(example[2]), abs=1e-5)
    assert uploaded[3]["data"] == example[3]["data"]


# --------------------------------------------------------------------------- MedDr-mini


def chat(client, question, example="breast MRI 1", retrieval=True, specialist=False, upload=None):
    return client.submit(
        question, [], example, upload, "breast-mri", retrieval, specialist, api_name="/chat"
    )


def test_chat_streams_an_answer_with_the_retrieved_cases(client):
    job = chat(client, "what is the diagnosis?")
    updates = list(job)
    history, box, seen, retrieved, prompt = job.result()
    assert len(updates) >= 3  # the answer arrived in pieces
    assert box == ""
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert text_of(history[0]) == "what is the diagnosis?"
    assert len(text_of(history[1]).split()) >= 1
    assert "similar cases:" in prompt
    assert len(retrieved["data"]) == 5
    assert image(seen).shape[:2] == (32, 32)


def text_of(message: dict) -> str:
    """A chat message's text: gradio 6 sends content as a list of typed parts."""
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part["text"] for part in content if part.get("type") == "text")


def test_chat_puts_the_specialist_in_the_prompt_and_leaves_retrieval_out(client):
    job = chat(client, "what is the diagnosis?", retrieval=False, specialist=True)
    *_, retrieved, prompt = job.result()
    assert "specialist mome-mini:" in prompt
    assert "similar cases" not in prompt
    assert retrieved["data"] in ([], [[None, None, None, None]], [["", "", "", ""]])


def test_chat_about_an_uploaded_picture(client, tmp_path):
    picture = (np.random.default_rng(0).random((64, 80, 3)) * 255).astype(np.uint8)
    Image.fromarray(picture).save(tmp_path / "picture.png")
    job = chat(client, "what is the diagnosis?", upload=handle_file(str(tmp_path / "picture.png")))
    history, _, seen, retrieved, prompt = job.result()
    assert image(seen).shape[:2] == (32, 32)
    assert prompt.startswith("image: breast mri.")


# --------------------------------------------------------------------------- XAIM-mini


@pytest.mark.parametrize(
    ("model", "case", "method"),
    [("mome-mini", "MRI case 1", "gradcam"), ("mstar-mini", "slide 2", "attention")],
)
def test_explanation_shows_a_map_words_and_a_diagnosis(client, model, case, method):
    overlay, text, diagnosis = client.predict(model, case, method, api_name="/explain")
    assert_picture(overlay)
    classes = 2 if model == "mome-mini" else 3
    p = assert_probabilities(diagnosis, classes)
    assert text.lower().startswith(max(p, key=p.get).lower())


def test_correcting_a_concept_changes_the_diagnosis(client):
    _, before_text, before = client.predict(
        "mome-mini", "MRI case 1", "gradcam", api_name="/explain"
    )
    after = {}
    for kinetic in ("persistent", "washout"):
        text, label = client.predict(
            "mome-mini", "MRI case 1", "kinetic", kinetic, api_name="/correct_concept"
        )
        assert text.startswith(f"With kinetic = {kinetic}:")
        after[kinetic] = assert_probabilities(label, 2)["malignant"]
    assert after["washout"] > after["persistent"]
