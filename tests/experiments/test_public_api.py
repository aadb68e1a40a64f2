"""``medai_edu.experiments`` exports every name the labs use, and loads its modules lazily."""

import subprocess
import sys

import pytest

import medai_edu.experiments as experiments


def test_every_exported_name_resolves():
    assert len(set(experiments.__all__)) == len(experiments.__all__)
    missing = [name for name in experiments.__all__ if not hasattr(experiments, name)]
    assert missing == []
    assert set(experiments.__all__) <= set(dir(experiments))


def test_importing_the_package_loads_no_experiment_until_a_name_is_used():
    code = (
        "import sys, medai_edu.experiments as e\n"
        "loaded = lambda: {m for m in sys.modules if m.startswith('medai_edu.experiments.')}\n"
        "assert loaded() == set(), loaded()\n"
        "e.retrieval_recall\n"
        "assert 'medai_edu.experiments.slide_probes' in loaded(), loaded()\n"
        "assert 'medai_edu.experiments.breast_fusion' not in loaded(), loaded()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_unknown_name_says_so():
    with pytest.raises(AttributeError, match="no_such_experiment"):
        experiments.no_such_experiment  # noqa: B018
