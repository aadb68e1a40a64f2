"""The hub on Kubernetes: labs/hub/k8s/values.yaml against the Zero to JupyterHub chart.

Two kinds of tests:

* schema tests merge the course's values over the chart's defaults and validate the result
  against the chart's JSON schema, as ``helm install`` does. They need the chart's
  ``values.schema.yaml`` and ``values.yaml``, found in ``$MEDAI_EDU_Z2JH_DIR`` or in
  ``shared/z2jh`` beside the repository, and are skipped where neither has them;
* structure tests, which always run, check what the course relies on: the two profiles, the
  GPU's limit, node selector, toleration and /dev/shm, the homes, the nbgrader exchange and
  its claim, culling, the image and the closed sign-up.
"""

from __future__ import annotations

import copy
import os
import types
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
import yaml

from medai_edu.hub.links import DEFAULT_REPO, DEFAULT_TARGET_DIR

REPO_ROOT = Path(__file__).resolve().parents[2]
K8S = REPO_ROOT / "labs" / "hub" / "k8s"
VALUES = K8S / "values.yaml"
EXCHANGE_PVC = K8S / "nbgrader-exchange-pvc.yaml"
EXCHANGE_PATH = "/srv/nbgrader/exchange"
COURSE_IMAGE = ("ghcr.io/medai-edu/singleuser", "2026.11")


def z2jh_dir() -> Path:
    """Where the chart's schema and default values are: ``$MEDAI_EDU_Z2JH_DIR`` or
    ``shared/z2jh`` beside the repository."""
    folder = os.environ.get("MEDAI_EDU_Z2JH_DIR")
    return Path(folder) if folder else REPO_ROOT.parent / "shared" / "z2jh"


def deep_merge(defaults: dict, values: dict) -> dict:
    """Helm's merge of user values over a chart's defaults: dictionaries are merged key by
    key, anything else (lists included) replaces the default, and ``null`` removes the key."""
    merged = copy.deepcopy(defaults)
    for key, value in values.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_yaml(path: Path):
    with path.open(encoding="utf-8") as stream:
        return yaml.safe_load(stream)


@pytest.fixture(scope="module")
def values() -> dict:
    return load_yaml(VALUES)


@pytest.fixture(scope="module")
def chart() -> tuple[dict, dict]:
    """The chart's ``(schema, default values)``; skips the test where they are not found."""
    folder = z2jh_dir()
    schema_file, defaults_file = folder / "values.schema.yaml", folder / "values.yaml"
    if not (schema_file.is_file() and defaults_file.is_file()):
        pytest.skip(
            f"no Zero to JupyterHub schema and defaults in {folder} (set MEDAI_EDU_Z2JH_DIR); "
            "the structure tests of the values still run"
        )
    schema = load_yaml(schema_file)
    jsonschema.validators.validator_for(schema).check_schema(schema)
    return schema, load_yaml(defaults_file)


def schema_errors(schema: dict, merged: dict) -> list[str]:
    """Every schema error, as ``path: message``."""
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{error.json_path}: {error.message}" for error in validator.iter_errors(merged)]


# --- schema: what `helm install` would check ---------------------------------------------


def test_values_pass_the_charts_schema(chart, values):
    schema, defaults = chart
    assert schema_errors(schema, defaults) == []  # the chart agrees with itself
    assert schema_errors(schema, deep_merge(defaults, values)) == []


def _set(tree: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        tree = tree[key]
    tree[last] = value


@pytest.mark.parametrize(
    ("dotted", "wrong", "where"),
    [
        ("cull.timeout", "one hour", "$.cull.timeout"),  # a string for an integer
        ("singleuser.image.tag", 2026.11, "$.singleuser.image.tag"),  # an unquoted tag
        ("singleuser.storage.extraVolume", [], "$.singleuser.storage"),  # a misspelt key
        ("singleuser.profileList", {"cpu": {}}, "$.singleuser.profileList"),  # not a list
    ],
)
def test_the_schema_catches_broken_values(chart, values, dotted, wrong, where):
    schema, defaults = chart
    broken = copy.deepcopy(values)
    _set(broken, dotted, wrong)
    errors = schema_errors(schema, deep_merge(defaults, broken))
    assert errors, f"setting {dotted} = {wrong!r} went unnoticed"
    assert any(error.startswith(where) for error in errors), errors


def test_deep_merge_follows_helm():
    defaults = {"a": {"b": 1, "c": [1, 2]}, "d": 1, "e": {"f": 1}}
    merged = deep_merge(defaults, {"a": {"c": [3]}, "d": None, "e": {"g": 2}})
    assert merged == {"a": {"b": 1, "c": [3]}, "e": {"f": 1, "g": 2}}
    assert defaults["a"]["c"] == [1, 2]  # the defaults are left alone


# --- structure: what the course relies on -------------------------------------------------


def profiles(values: dict) -> dict[str, dict]:
    return {profile["display_name"]: profile for profile in values["singleuser"]["profileList"]}


def test_students_choose_a_cpu_lab_by_default_or_one_gpu(values):
    found = profiles(values)
    assert set(found) == {"CPU lab", "One GPU"}
    assert [name for name, profile in found.items() if profile.get("default")] == ["CPU lab"]
    cpu = found["CPU lab"]["kubespawner_override"]
    assert (cpu["cpu_guarantee"], cpu["cpu_limit"]) == (0.5, 2)
    assert (cpu["mem_guarantee"], cpu["mem_limit"]) == ("2G", "4G")
    assert "extra_resource_limits" not in cpu


def test_the_gpu_profile_gets_a_gpu_on_a_gpu_node(values):
    gpu = profiles(values)["One GPU"]["kubespawner_override"]
    assert gpu["extra_resource_limits"] == {"nvidia.com/gpu": "1"}  # a string, as k8s wants
    assert gpu["node_selector"], "GPU servers must be scheduled on GPU nodes"
    assert all(isinstance(label, str) for label in gpu["node_selector"].values())
    assert {
        "key": "nvidia.com/gpu",
        "operator": "Exists",
        "effect": "NoSchedule",
    } in gpu["tolerations"]


def test_the_gpu_profile_has_a_memory_backed_dev_shm(values):
    gpu = profiles(values)["One GPU"]["kubespawner_override"]
    # dictionaries, which KubeSpawner merges into the chart's volumes; a list would replace
    # them and take away the home folder and the exchange
    assert isinstance(gpu["volumes"], dict) and isinstance(gpu["volume_mounts"], dict)
    shm = [m for m in gpu["volume_mounts"].values() if m["mountPath"] == "/dev/shm"]
    assert len(shm) == 1
    volume = next(v for v in gpu["volumes"].values() if v["name"] == shm[0]["name"])
    assert volume["emptyDir"]["medium"] == "Memory"
    assert volume["emptyDir"]["sizeLimit"]


def test_every_student_has_a_persistent_home(values):
    storage = values["singleuser"]["storage"]
    assert storage["type"] == "dynamic"
    assert storage["capacity"] == "10Gi"
    assert storage["homeMountPath"] == "/home/jovyan"


def test_every_server_mounts_the_exchange_claim(values):
    storage = values["singleuser"]["storage"]
    mounts = [m for m in storage["extraVolumeMounts"].values() if m["mountPath"] == EXCHANGE_PATH]
    assert len(mounts) == 1
    volume = next(v for v in storage["extraVolumes"].values() if v["name"] == mounts[0]["name"])
    claim = load_yaml(EXCHANGE_PVC)
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    # and nbgrader is told to use it: the roles' nbgrader_config.py reads this variable
    assert values["singleuser"]["extraEnv"]["MEDAI_HUB_EXCHANGE"] == EXCHANGE_PATH


def test_each_role_gets_its_own_jupyter_configuration(values):
    hook = values["hub"]["extraConfig"]["01-roles.py"]
    environment = {}
    namespace = {"c": types.SimpleNamespace(KubeSpawner=types.SimpleNamespace())}
    exec(hook, namespace)  # the hub runs the same code
    for admin, role in ((True, "instructor"), (False, "student")):
        spawner = types.SimpleNamespace(user=types.SimpleNamespace(admin=admin), environment={})
        namespace["c"].KubeSpawner.pre_spawn_hook(spawner)
        environment[role] = spawner.environment["JUPYTER_CONFIG_PATH"]
        assert (REPO_ROOT / "labs/hub/jupyter-config" / role).is_dir()
    assert environment == {
        "instructor": "/opt/medai-edu/jupyter-config/instructor",
        "student": "/opt/medai-edu/jupyter-config/student",
    }
    dockerfile = (REPO_ROOT / "labs/hub/k8s/Dockerfile").read_text()
    assert "labs/hub/jupyter-config /opt/medai-edu/jupyter-config" in dockerfile


def test_the_exchange_claim_is_read_write_many():
    documents = list(yaml.safe_load_all(EXCHANGE_PVC.read_text(encoding="utf-8")))
    assert len(documents) == 1
    claim = documents[0]
    assert (claim["apiVersion"], claim["kind"]) == ("v1", "PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert claim["spec"]["resources"]["requests"]["storage"]


def test_idle_servers_and_kernels_are_culled(values):
    cull = values["cull"]
    assert cull["enabled"] is True
    assert cull["users"] is False  # accounts stay
    assert isinstance(cull["timeout"], int) and cull["timeout"] > 0
    assert isinstance(cull["every"], int) and 0 < cull["every"] < cull["timeout"]
    cmd = values["singleuser"]["cmd"]
    assert cmd[0] == "jupyterhub-singleuser"
    options = dict(arg.removeprefix("--").split("=", 1) for arg in cmd[1:])
    kernel_idle = int(options["MappingKernelManager.cull_idle_timeout"])
    assert 0 < kernel_idle < cull["timeout"]  # kernels go before their server does
    assert 0 < int(options["MappingKernelManager.cull_interval"]) <= kernel_idle


def test_servers_run_the_course_image(values):
    image = values["singleuser"]["image"]
    assert (image["name"], image["tag"]) == COURSE_IMAGE
    assert isinstance(image["tag"], str) and image["tag"] != "latest"
    # the Dockerfile documents the build of this very image
    assert "{}:{}".format(*COURSE_IMAGE) in (K8S / "Dockerfile").read_text(encoding="utf-8")


def test_sign_up_is_closed_and_instructors_are_admins(values):
    config = values["hub"]["config"]
    assert config["JupyterHub"]["authenticator_class"] in (
        "native",
        "nativeauthenticator.NativeAuthenticator",
    )
    assert config["NativeAuthenticator"]["open_signup"] is False
    assert "instructor" in config["Authenticator"]["admin_users"]
    assert config["NativeAuthenticator"]["minimum_password_length"] >= 8
    pages = "".join(values["hub"]["extraConfig"].values())
    assert "nativeauthenticator" in pages and "template_paths" in pages


def test_the_default_url_pulls_the_course_with_nbgitpuller(values):
    url = urlsplit(values["singleuser"]["defaultUrl"])
    assert url.path == "/git-pull"
    query = {key: value[0] for key, value in parse_qs(url.query, strict_parsing=True).items()}
    assert query["repo"] == DEFAULT_REPO
    assert query["branch"] == "main"
    assert query["targetPath"] == DEFAULT_TARGET_DIR
    assert query["urlpath"] == f"lab/tree/{DEFAULT_TARGET_DIR}/labs"
    assert (REPO_ROOT / "labs").is_dir()
