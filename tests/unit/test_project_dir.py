"""The local stack finds the project folder (the DAGs, the plugins, docker/airflow.env) without
assuming fnlib runs from a checkout: FN_PROJECT_DIR, else the current folder or a parent of
it, else the checkout; a clear error naming what was looked for when there is none."""

from __future__ import annotations

from pathlib import Path

import pytest

from fnlib import cli, settings
from fnlib.local.cluster import Cluster, settings_file
from fnlib.local.stack import Stack
from fnlib.settings import ProjectDirError, project_dir

CHECKOUT = Path(__file__).resolve().parents[2]


def make_project(folder: Path) -> Path:
    (folder / "dags").mkdir(parents=True)
    (folder / "plugins" / "fn_airflow").mkdir(parents=True)
    (folder / "docker").mkdir()
    (folder / "docker" / "airflow.env").write_text("AIRFLOW__CORE__EXECUTOR=CeleryExecutor\n")
    return folder.resolve()


@pytest.fixture
def no_setting(monkeypatch):
    monkeypatch.setenv("FN_PROJECT_DIR", "")  # unset, and restored afterwards
    monkeypatch.delenv("FN_DATA_DIR", raising=False)


@pytest.fixture
def no_checkout(monkeypatch, tmp_path, no_setting):
    """fnlib installed from a wheel: the folder the module sits in holds no project."""
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.setattr(settings, "_CHECKOUT", site)
    return site


def test_the_setting_wins_over_the_current_folder(tmp_path, monkeypatch, no_setting):
    given = make_project(tmp_path / "given")
    monkeypatch.chdir(make_project(tmp_path / "here"))
    monkeypatch.setenv("FN_PROJECT_DIR", str(given))
    assert project_dir() == given


def test_a_setting_that_is_no_project_is_an_error_not_a_fallback(tmp_path, monkeypatch, no_setting):
    monkeypatch.chdir(make_project(tmp_path / "here"))
    monkeypatch.setenv("FN_PROJECT_DIR", str(tmp_path / "nothing"))
    with pytest.raises(ProjectDirError, match="FN_PROJECT_DIR=.*nothing does not hold dags/"):
        project_dir()


def test_the_current_folder_or_its_nearest_parent_is_found(tmp_path, monkeypatch, no_checkout):
    outer = make_project(tmp_path / "outer")
    inner = make_project(outer / "work" / "inner")
    (inner / "dags" / "deep").mkdir()
    monkeypatch.chdir(inner / "dags" / "deep")
    assert project_dir() == inner
    monkeypatch.chdir(outer / "work")
    assert project_dir() == outer
    (tmp_path / "half" / "dags").mkdir(parents=True)  # DAGs without the plugin package
    monkeypatch.chdir(tmp_path / "half")
    with pytest.raises(ProjectDirError):
        project_dir()


def test_outside_any_project_the_checkout_is_used(tmp_path, monkeypatch, no_setting):
    monkeypatch.chdir(tmp_path)
    assert project_dir() == CHECKOUT


def test_no_project_anywhere_is_a_clear_error(tmp_path, monkeypatch, no_checkout):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProjectDirError) as err:
        project_dir()
    message = str(err.value)
    assert "dags/ and plugins/fn_airflow/" in message
    assert str(tmp_path.resolve()) in message and str(no_checkout) in message
    assert "FN_PROJECT_DIR" in message
    # the data root falls back to the current folder, as for any installed package
    assert settings.data_dir() == tmp_path.resolve()


def test_the_stack_serves_the_project_it_finds(tmp_path, monkeypatch, no_checkout):
    project = make_project(tmp_path / "proj")
    monkeypatch.chdir(project)
    stack = Cluster(tmp_path / "state")
    stack._save(api_port=18080, s3_port=19000, pg_port=15432, redis_port=16379, jwt_secret="x")
    env = stack.env()
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(project / "dags")
    assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == str(project / "plugins")
    assert env["FN_PROJECT_DIR"] == env["FN_DATA_DIR"] == str(project)
    assert settings_file() == project / "docker" / "airflow.env"
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"  # read from that file


def test_stack_up_names_what_is_missing_before_starting_anything(tmp_path, monkeypatch,
                                                                 capsys, no_checkout):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FN_STACK_DIR", str(tmp_path / "state"))
    assert cli.main(["stack", "up"]) == 2
    assert "no project folder found" in capsys.readouterr().out
    assert cli.main(["stack", "up", "--project", str(tmp_path / "elsewhere")]) == 2
    assert f"FN_PROJECT_DIR={tmp_path / 'elsewhere'} does not hold" in capsys.readouterr().out
    assert not (tmp_path / "state").exists()
    assert Stack(tmp_path / "state").state() == {}
