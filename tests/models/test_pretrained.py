"""Shipped teaching checkpoints loaded by name: ``create_model(name, pretrained=...)``."""

from __future__ import annotations

import shutil

import pytest
import torch

from medai_edu.models import create_model
from medai_edu.models import pretrained as shipped


@pytest.mark.parametrize(("name", "tag"), sorted(shipped.PRETRAINED))
def test_every_shipped_checkpoint_loads_by_name(name, tag):
    model = create_model(name, pretrained=tag)
    assert not model.training and model.pretrained_cfg["tag"] == tag
    state, metadata = shipped.read_checkpoint(
        shipped.CHECKPOINTS / shipped.PRETRAINED[(name, tag)].file
    )
    assert metadata == model.pretrained_cfg["metadata"] and "command" in metadata
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_pretrained_true_is_each_models_default():
    for name, tag in shipped.DEFAULT_TAG.items():
        assert create_model(name, pretrained=True).pretrained_cfg["tag"] == tag
    assert create_model("mstar-mini").training  # no checkpoint without pretrained=


def test_an_unknown_tag_names_the_ones_there_are():
    with pytest.raises(ValueError, match="'stage1', 'stage2', 'tiles-only', 'random'"):
        create_model("mstar-mini", pretrained="stage3")
    with pytest.raises(ValueError, match="none"):
        create_model("densenet121-3d", pretrained=True)


def test_every_shipped_file_matches_its_recorded_checksum():
    recorded = shipped.recorded_checksums()
    files = {p.relative_to(shipped.CHECKPOINTS).as_posix() for p in shipped.CHECKPOINTS.rglob("*")}
    files.discard("SHA256SUMS")
    assert set(recorded) == {f for f in files if (shipped.CHECKPOINTS / f).is_file()}
    for entry in shipped.PRETRAINED.values():
        assert shipped.sha256(shipped.verified_path(entry)) == recorded[entry.file]


@pytest.fixture
def copied(tmp_path, monkeypatch):
    """The shipped checkpoints copied to a folder the test may spoil."""
    folder = tmp_path / "checkpoints"
    shutil.copytree(shipped.CHECKPOINTS, folder)
    monkeypatch.setattr(shipped, "CHECKPOINTS", folder)
    monkeypatch.setattr(shipped, "CHECKSUMS", folder / "SHA256SUMS")
    return folder


def test_a_missing_checkpoint_names_the_command_that_makes_it(copied):
    (copied / "slide-pretraining" / "stage2.pt").unlink()
    with pytest.raises(FileNotFoundError, match="medai-edu train slide-pretraining"):
        create_model("mstar-mini", pretrained="stage2")


def test_a_changed_checkpoint_is_refused(copied):
    path = copied / "generalist" / "meddr-mini.pt"
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="changed since `make checkpoints`"):
        create_model("meddr-mini", pretrained=True)
    path.write_bytes(bytes(data[: len(data) // 2]))
    shipped.write_checksums()  # recorded (as `make checkpoints` would), but a broken file
    with pytest.raises(ValueError, match="not a readable medai-edu checkpoint"):
        create_model("meddr-mini", pretrained=True)
