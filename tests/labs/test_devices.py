"""Labs that run PyTorch choose their device with ``select_device()`` and pass it to the
course functions that train or run a model, so that on a JupyterHub server with a GPU they
use it with no code change (and print which device they run on).

Checked by reading the notebooks' code cells, without running them.
"""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
LABS = sorted(p for p in (ROOT / "labs").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)

#: The course functions that train or run a model and take ``device=``.
TAKE_DEVICE = (
    "fit",  # medai_edu.train
    "pretrain",  # medai_edu.experiments.generalist
    "instruction_tune",
    "load_generalist",
    "train_mil",  # medai_edu.experiments.slide_pretraining
    "pretrain_all",
    "pretrain_tiles_simclr",
    "train_stage1",
    "train_stage2",
    "fit_slide_classifier",  # medai_edu.experiments.explanations
    "fit_mri_concepts",  # medai_edu.explain.concept_models
)
#: A call by bare name or through a module (``g.pretrain(``); ``fit`` only bare, since
#: ``model.fit(`` is scikit-learn's.
CALL = re.compile(
    r"(?<![\w.])(?:(?:[A-Za-z_]\w*\.)?(?:"
    + "|".join(name for name in TAKE_DEVICE if name != "fit")
    + r")|fit)\("
)
IMPORTS_TORCH = re.compile(r"^\s*(?:import torch\b|from torch\b)", re.MULTILINE)
SELECTS_DEVICE = re.compile(r"^device = select_device\(\)", re.MULTILINE)


def code_of(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def calls(code: str) -> list[str]:
    """Every call of a :data:`TAKE_DEVICE` function, from its name to its closing bracket."""
    found = []
    for match in CALL.finditer(code):
        depth, end = 1, match.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(code[end], 0)
            end += 1
        found.append(code[match.start() : end])
    return found


def uses_torch(code: str) -> bool:
    return bool(IMPORTS_TORCH.search(code) or calls(code))


def test_the_check_finds_calls_and_skips_other_fits():
    code = "g.pretrain(m, t, c, steps=2)\nfit(model, loader, device=device)\nclf.fit(x, y)\n"
    assert calls(code) == ["g.pretrain(m, t, c, steps=2)", "fit(model, loader, device=device)"]
    assert not calls("EmbeddingIndex().fit(x)\nmodel.fit(x, y)\npretrain_all_x(1)")


def test_the_labs_that_train_are_found():
    found = {p.relative_to(ROOT / "labs").as_posix() for p in LABS if uses_torch(code_of(p))}
    assert found >= {
        "medical-ai/04-fusing-modalities.ipynb",
        "medical-ai/05-build-a-medical-gpt.ipynb",
        "medical-ai/06-can-you-trust-it.ipynb",
        "pathology/04-multiple-instance-learning.ipynb",
        "pathology/05-mstar-pretraining.ipynb",
        "pathology/07-explaining-slide-decisions.ipynb",
    }


@pytest.mark.parametrize("path", LABS, ids=[str(p.relative_to(ROOT / "labs")) for p in LABS])
def test_labs_that_use_torch_select_a_device_and_pass_it_on(path):
    code = code_of(path)
    if not uses_torch(code):
        pytest.skip("no PyTorch in this lab")
    assert SELECTS_DEVICE.search(code), "the lab should set device = select_device()"
    forgot = [call for call in calls(code) if not re.search(r"\bdevice=", call)]
    assert not forgot, f"these calls should pass device=device: {forgot}"
