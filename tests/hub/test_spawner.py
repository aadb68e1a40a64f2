"""The hub's pieces without a running hub: the spawner's homes, roles, limits and sandbox,
the launcher, and the authenticator's demo accounts."""

import asyncio
import json
import os
import types
from pathlib import Path

import pytest
from jupyterhub import orm

from medai_edu.hub import launch, spawner
from medai_edu.hub.accounts import CourseAuthenticator
from medai_edu.hub.spawner import CourseSpawner, copy_missing, cores_for


def test_cores_spread_servers_over_the_machine():
    cores = [0, 1, 2, 3]
    assert cores_for(0, 1.0, cores) == [0]
    assert cores_for(1, 1.0, cores) == [1]
    assert cores_for(5, 1.0, cores) == [1]
    assert cores_for(1, 1.5, cores) == [2, 3]  # ceil(1.5) = 2 cores
    assert cores_for(3, 8.0, cores) == cores  # more than the machine: all of it
    assert cores_for(3, None, cores) == cores


def test_students_get_no_formgrader_and_instructors_their_course(tmp_path, monkeypatch):
    roles = Path(spawner.__file__).resolve().parents[2] / "labs" / "hub" / "jupyter-config"
    pupil = json.loads((roles / "student" / "labconfig" / "page_config.json").read_text())
    assert pupil["disabledExtensions"]["@jupyter/nbgrader:formgrader"] is True
    server = json.loads((roles / "student" / "jupyter_server_config.json").read_text())
    assert (
        server["ServerApp"]["jpserver_extensions"]["nbgrader.server_extensions.formgrader"] is False
    )
    teacher = json.loads((roles / "instructor" / "labconfig" / "page_config.json").read_text())
    assert teacher["disabledExtensions"] == {}
    monkeypatch.setenv("MEDAI_HUB_EXCHANGE", "/srv/exchange")
    monkeypatch.setenv("HOME", "/homes/t")
    for role, root in (("student", None), ("instructor", "/homes/t/course")):
        c = types.SimpleNamespace(
            CourseDirectory=types.SimpleNamespace(), Exchange=types.SimpleNamespace()
        )
        exec((roles / role / "nbgrader_config.py").read_text(), {"get_config": lambda c=c: c})
        assert c.CourseDirectory.course_id == "medai-edu"
        assert c.Exchange.root == "/srv/exchange"
        assert getattr(c.CourseDirectory, "root", None) == root


def test_copy_missing_never_overwrites_a_students_work(tmp_path):
    source, home = tmp_path / "labs", tmp_path / "home"
    (source / "a").mkdir(parents=True)
    (source / "a" / "lab.ipynb").write_text("course version")
    (source / "a" / "new.ipynb").write_text("new lab")
    (source / "release").mkdir()
    (source / "release" / "x.ipynb").write_text("skipped")
    (home / "labs" / "a").mkdir(parents=True)
    (home / "labs" / "a" / "lab.ipynb").write_text("the student's edits")
    made = copy_missing(source, home, "labs", skip=("release",))
    assert made == [home / "labs" / "a" / "new.ipynb"]
    assert (home / "labs" / "a" / "lab.ipynb").read_text() == "the student's edits"
    assert (home / "labs" / "a" / "new.ipynb").read_text() == "new lab"
    assert not (home / "labs" / "release").exists()


def test_copy_missing_never_writes_through_a_students_links(tmp_path):
    source, home, outside = tmp_path / "labs", tmp_path / "home", tmp_path / "outside"
    (source / "a").mkdir(parents=True)
    (source / "a" / "lab.ipynb").write_text("course version")
    (source / "b.ipynb").write_text("b")
    outside.mkdir()
    (home / "labs").mkdir(parents=True)
    (home / "labs" / "a").symlink_to(outside)  # a folder link
    (home / "labs" / "b.ipynb").symlink_to(outside / "target")  # a dangling file link
    assert copy_missing(source, home, "labs") == []
    assert list(outside.iterdir()) == []
    (tmp_path / "home2").mkdir()
    (tmp_path / "home2" / ".cache").symlink_to(outside)  # a link above the target folder
    assert copy_missing(source, tmp_path / "home2", ".cache/medai-edu/samples") == []
    assert list(outside.iterdir()) == []


def make_spawner(tmp_path, name="student1", user_id=3, admin=False) -> CourseSpawner:
    user = types.SimpleNamespace(name=name, id=user_id, admin=admin, url=f"/user/{name}/")
    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    return CourseSpawner(
        user=user,
        state_root=str(tmp_path / "state"),
        course_source=str(course),
        labs_source="",
    )


def test_as_root_each_server_gets_its_own_uid_and_sandbox(tmp_path, monkeypatch):
    monkeypatch.setattr(spawner.os, "geteuid", lambda: 0)
    server = make_spawner(tmp_path)
    assert server.server_uid == server.uid_base + 3
    command = server.sandbox_command()
    assert command[0].endswith("bwrap")
    home = str(tmp_path / "state" / "homes" / "student1")
    exchange = str(tmp_path / "state" / "exchange")
    pairs = list(zip(command, command[1:], command[2:], strict=False))
    assert ("--bind", home, home) in pairs and ("--bind", exchange, exchange) in pairs
    assert ("--tmpfs", "/tmp") in zip(command, command[1:], strict=False)  # state is under /tmp
    assert ("--tmpfs", os.path.realpath(os.path.expanduser("~"))) in zip(
        command, command[1:], strict=False
    )
    assert "--unshare-pid" in command and "--unshare-net" not in command  # it serves HTTP
    assert command[-3:] == ["medai_edu.hub.launch", str(server.server_uid), "--"]


def test_without_root_servers_run_as_the_hub_user_unsandboxed(tmp_path, monkeypatch):
    monkeypatch.setattr(spawner.os, "geteuid", lambda: 1000)
    server = make_spawner(tmp_path)
    assert server.server_uid is None and server.sandbox_command() == []


def test_a_home_is_prepared_with_the_role_and_private(tmp_path, monkeypatch):
    monkeypatch.setattr(spawner.os, "geteuid", lambda: 1000)  # no chown in this test
    teacher = make_spawner(tmp_path, "teacher", 1, admin=True)
    teacher.prepare_home()
    home = tmp_path / "state" / "homes" / "teacher"
    assert (home / "course" / "source").is_dir()
    teacher.role_config_root = "/roles"
    env = teacher.user_env({})
    assert env["JUPYTER_CONFIG_PATH"] == "/roles/instructor"
    assert env["HOME"] == str(home) and env["MEDAI_HUB_EXCHANGE"].endswith("exchange")
    assert oct(home.stat().st_mode & 0o777) == "0o700"
    assert oct((tmp_path / "state" / "exchange").stat().st_mode & 0o7777) == "0o1777"


def test_the_launcher_refuses_a_malformed_command():
    for argv in ([], ["abc", "--", "true"], ["1000", "true"]):
        with pytest.raises(SystemExit, match="usage"):
            launch.main(argv)


def authenticator(db, accounts) -> CourseAuthenticator:
    return CourseAuthenticator(_deprecated_db_session=db, demo_accounts=accounts)


def test_demo_accounts_are_approved_and_kept_across_restarts():
    db = orm.new_session_factory("sqlite://")()
    first = authenticator(db, {"instructor": "a-long-password-1"})
    assert first.get_user("instructor").is_authorized
    form = {"username": "instructor", "password": "a-long-password-1"}
    assert asyncio.run(first.authenticate(None, form)) == "instructor"
    wrong = {"username": "instructor", "password": "guess"}
    assert asyncio.run(first.authenticate(None, wrong)) is None
    # a restart with another configured password keeps the account's own
    again = authenticator(db, {"instructor": "another-password-2"})
    assert again.create_demo_accounts() == []
    assert asyncio.run(again.authenticate(None, form)) == "instructor"


def test_a_demo_account_with_an_invalid_name_is_refused():
    db = orm.new_session_factory("sqlite://")()
    with pytest.raises(ValueError, match="not a valid username"):
        authenticator(db, {"bad/name": "a-long-password-1"})
