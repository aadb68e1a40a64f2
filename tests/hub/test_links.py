"""nbgitpuller links into the hub: each parameter read back, bad input refused, every lab linked."""

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from medai_edu.hub.links import DEFAULT_REPO, lab_links, nbgitpuller_link

REPO_ROOT = Path(__file__).resolve().parents[2]
LAB = "labs/pathology/03-stain-colour.ipynb"


def parsed(link: str) -> tuple[str, str, dict[str, str]]:
    """``(scheme://host, path, {parameter: its one value})`` of a link."""
    parts = urlsplit(link)
    query = parse_qs(parts.query, strict_parsing=True)
    assert all(len(values) == 1 for values in query.values()), query
    return f"{parts.scheme}://{parts.netloc}", parts.path, {k: v[0] for k, v in query.items()}


def test_a_lab_link_has_every_parameter_of_nbgitpuller():
    origin, path, query = parsed(nbgitpuller_link("https://hub.example.edu", LAB))
    assert origin == "https://hub.example.edu"
    assert path == "/hub/user-redirect/git-pull"
    assert query == {
        "repo": DEFAULT_REPO,
        "branch": "main",
        "targetPath": "medai-edu",
        "urlpath": f"lab/tree/medai-edu/{LAB}",
    }


def test_options_reach_the_link():
    link = nbgitpuller_link(
        "http://127.0.0.1:8000/course/",  # a hub under a path, with a trailing slash
        "labs/medical-ai/my lab & notes.md",
        repo="https://gitlab.example.edu/ai/course.git",
        branch="spring-2027",
        app="notebook",
        target_dir="courses/ai",
    )
    origin, path, query = parsed(link)
    assert origin == "http://127.0.0.1:8000"
    assert path == "/course/hub/user-redirect/git-pull"
    assert query == {
        "repo": "https://gitlab.example.edu/ai/course.git",
        "branch": "spring-2027",
        "targetPath": "courses/ai",
        "urlpath": "tree/courses/ai/labs/medical-ai/my lab & notes.md",
    }
    # the query is quoted: its only raw separators are nbgitpuller's own
    assert link.split("?", 1)[1].count("&") == 3
    assert " " not in link


@pytest.mark.parametrize(
    "hub_url",
    [
        "hub.example.edu",  # no scheme
        "ftp://hub.example.edu",
        "https://",
        "https://hub.example.edu/?next=/hub/home",
        "https://hub.example.edu/#top",
    ],
)
def test_a_hub_url_that_is_not_plain_http_is_refused(hub_url):
    with pytest.raises(ValueError, match="hub_url"):
        nbgitpuller_link(hub_url, LAB)


@pytest.mark.parametrize(
    "path",
    [
        "/work/main/labs/pathology/03-stain-colour.ipynb",
        "labs/../../etc/passwd.md",
        "../outside.ipynb",
        "C:\\labs\\lab.ipynb",
        "",
    ],
)
def test_a_path_outside_the_repository_is_refused(path):
    with pytest.raises(ValueError, match="path"):
        nbgitpuller_link("https://hub.example.edu", path)


@pytest.mark.parametrize("path", ["labs/pathology", "medai_edu/hub/links.py", "README.txt"])
def test_only_notebooks_and_markdown_get_links(path):
    with pytest.raises(ValueError, match=r"\.ipynb or \.md"):
        nbgitpuller_link("https://hub.example.edu", path)


def test_an_unknown_app_is_refused():
    with pytest.raises(ValueError, match="app must be one of"):
        nbgitpuller_link("https://hub.example.edu", LAB, app="rstudio")


@pytest.mark.parametrize("target_dir", ["/home/jovyan", "../elsewhere", ""])
def test_an_unsafe_target_folder_is_refused(target_dir):
    with pytest.raises(ValueError, match="target_dir"):
        nbgitpuller_link("https://hub.example.edu", LAB, target_dir=target_dir)


def test_every_lab_in_the_repository_gets_a_link():
    labs = REPO_ROOT / "labs"
    notebooks = sorted(
        path.relative_to(REPO_ROOT).as_posix()
        for path in labs.glob("*/*.ipynb")
        if path.parent.name in ("medical-ai", "pathology")
    )
    assert len(notebooks) >= 14  # seven labs in each course
    links = lab_links("https://hub.example.edu", labs)
    assert list(links) == notebooks  # every lab, nothing else, sorted
    for relative, link in links.items():
        assert (REPO_ROOT / relative).is_file()
        _, _, query = parsed(link)
        assert query["urlpath"] == f"lab/tree/medai-edu/{relative}"
        assert query["urlpath"].endswith(relative)


def test_lab_links_skip_checkpoints_and_pass_options(tmp_path):
    (tmp_path / "labs" / "a" / ".ipynb_checkpoints").mkdir(parents=True)
    (tmp_path / "labs" / "a" / "01.ipynb").write_text("{}")
    (tmp_path / "labs" / "a" / ".ipynb_checkpoints" / "01-checkpoint.ipynb").write_text("{}")
    (tmp_path / "labs" / "a" / "notes.txt").write_text("")
    links = lab_links("https://hub.example.edu", tmp_path / "labs", branch="dev", app="notebook")
    assert list(links) == ["labs/a/01.ipynb"]
    _, _, query = parsed(links["labs/a/01.ipynb"])
    assert query["branch"] == "dev"
    assert query["urlpath"] == "tree/medai-edu/labs/a/01.ipynb"
    with pytest.raises(FileNotFoundError):
        lab_links("https://hub.example.edu", tmp_path / "missing")
