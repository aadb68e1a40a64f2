"""Package roots load their slow names on first use, once, and name what they lack."""

import subprocess
import sys

import pytest

import medai_edu.grading
import medai_edu.models


def test_a_lazy_name_loads_its_module_on_first_use_only():
    code = (
        "import sys, medai_edu.demos as d\n"
        "assert 'medai_edu.demos.app' not in sys.modules\n"
        "serve = d.serve\n"
        "assert 'medai_edu.demos.app' in sys.modules and 'serve' in vars(d)\n"
        "assert d.serve is serve and 'serve' in dir(d)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_an_unknown_name_is_an_attribute_error_naming_package_and_name():
    with pytest.raises(AttributeError, match=r"'medai_edu.grading' has no attribute 'grade_it'"):
        medai_edu.grading.grade_it  # noqa: B018
    with pytest.raises(AttributeError, match="'medai_edu.models' has no attribute 'MRIcnn'"):
        medai_edu.models.MRIcnn  # noqa: B018


def test_every_lazy_name_resolves_and_is_listed():
    for package in ("bench", "demos", "experiments", "grading", "hub", "models"):
        module = __import__(f"medai_edu.{package}", fromlist=["__all__"])
        for name in module.__all__:
            assert getattr(module, name) is not None, f"medai_edu.{package}.{name}"
            assert name in dir(module)
