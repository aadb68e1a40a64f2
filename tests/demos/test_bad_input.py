"""Every kind of bad input gets a clear message in the interface, and the server goes on
serving: after each one, a normal request still gets its answer."""

from __future__ import annotations

import gzip

import nibabel as nib
import numpy as np
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from medai_edu.data.breast_mri import make_breast_mri_case
from medai_edu.data.pathology import SMALL_SLIDE, SlideConfig, make_slide, write_slide
from medai_edu.demos.uploads import write_case_nifti

pytestmark = pytest.mark.slow


def still_serving(client) -> None:
    label = client.predict("MRI case 1", None, "none", api_name="/predict_mri")[1]
    assert sum(c["confidence"] for c in label["confidences"]) == pytest.approx(1, abs=1e-4)


def upload_mri(client, paths):
    return client.predict(
        "MRI case 1", [handle_file(str(p)) for p in paths], "none", api_name="/predict_mri"
    )


def upload_slide(client, path):
    return client.predict("slide 1", handle_file(str(path)), api_name="/predict_slide")


def chat(client, question, upload=None):
    return client.predict(
        question, [], "breast MRI 1", upload, "breast-mri", True, False, api_name="/chat"
    )


def save_nifti(array, path):
    nib.save(nib.Nifti1Image(np.asarray(array, np.float32), np.eye(4)), path)
    return path


@pytest.fixture(scope="module")
def case_files(tmp_path_factory):
    return write_case_nifti(make_breast_mri_case(3), tmp_path_factory.mktemp("case"))


def test_a_wrong_file_type(client, tmp_path):
    notes = tmp_path / "t2.txt"
    notes.write_text("not an image")
    with pytest.raises(AppError, match=r"(?i)(\.nii|type)"):
        upload_mri(client, [notes])
    still_serving(client)


def test_a_corrupt_volume(client, tmp_path):
    junk = tmp_path / "t2.nii.gz"
    junk.write_bytes(gzip.compress(np.random.default_rng(0).bytes(5000)))
    with pytest.raises(AppError, match=r"(?i)corrupt|not a nifti|truncated"):
        upload_mri(client, [junk])
    still_serving(client)


def test_a_truncated_volume(client, case_files, tmp_path):
    t2 = next(p for p in case_files if p.name.startswith("t2"))
    cut = tmp_path / "t2.nii.gz"
    cut.write_bytes(t2.read_bytes()[: t2.stat().st_size // 2])
    with pytest.raises(AppError, match=r"(?i)truncated|corrupt"):
        upload_mri(client, [cut])
    still_serving(client)


def test_a_volume_of_the_wrong_dimensionality(client, tmp_path):
    flat = save_nifti(np.ones((32, 32)), tmp_path / "t2.nii.gz")
    with pytest.raises(AppError, match=r"t2 must be a 3D volume"):
        upload_mri(client, [flat])
    still_serving(client)


def test_a_volume_over_the_size_limit(client, tmp_path):
    big = save_nifti(np.ones((48, 48, 48)), tmp_path / "t2.nii.gz")  # over 40^3 voxels
    with pytest.raises(AppError, match=r"(?i)accepts up to 64,000"):
        upload_mri(client, [big])
    still_serving(client)


def test_a_file_over_the_upload_limit(client, tmp_path):
    huge = tmp_path / "t2.nii"
    huge.write_bytes(b"\0" * 21_000_000)  # the test server accepts 20 MB
    with pytest.raises(AppError, match=r"(?i)MB"):
        upload_mri(client, [huge])
    still_serving(client)


def test_a_slide_of_the_wrong_type(client, tmp_path):
    picture = tmp_path / "slide.png"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(picture)
    with pytest.raises(AppError, match=r"(?i)\.svs|type"):
        upload_slide(client, picture)
    still_serving(client)


def test_a_truncated_slide(client, tmp_path):
    path = write_slide(make_slide(1, SMALL_SLIDE), tmp_path / "whole.tif")
    cut = tmp_path / "cut.tif"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    with pytest.raises(AppError, match=r"(?i)truncated|corrupt|cannot"):
        upload_slide(client, cut)
    still_serving(client)


def test_a_slide_over_the_size_limit(client, tmp_path):
    large = SlideConfig(width=1280, height=1024)  # 1.3 Mpx; the test server takes 1 Mpx
    path = write_slide(make_slide(2, large), tmp_path / "large.tif")
    with pytest.raises(AppError, match=r"(?i)accepts up to 1,000,000"):
        upload_slide(client, path)
    still_serving(client)


def test_an_empty_chat_message(client):
    with pytest.raises(AppError, match=r"(?i)empty"):
        chat(client, "   ")
    still_serving(client)


@pytest.mark.parametrize("words", [150, 2000])
def test_a_prompt_over_the_context_length(client, words):
    with pytest.raises(AppError, match=r"(?i)shorter question"):
        chat(client, " ".join(["what is the diagnosis of this lesion"] * (words // 7)))
    still_serving(client)


def test_a_picture_too_small_for_the_chat(client, tmp_path):
    tiny = tmp_path / "tiny.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tiny)
    with pytest.raises(AppError, match=r"(?i)too small"):
        chat(client, "what is the diagnosis?", upload=handle_file(str(tiny)))
    still_serving(client)


def test_an_unknown_example_or_concept(client):
    with pytest.raises(AppError, match=r"unknown case"):
        client.predict("mstar-mini", "MRI case 1", "attention", api_name="/explain")
    with pytest.raises(AppError, match=r"not a concept value"):
        client.predict(
            "mome-mini", "MRI case 1", "kinetic", "sideways", api_name="/correct_concept"
        )
    still_serving(client)
