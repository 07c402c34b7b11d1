"""The published metadata: one version, the documentation URL from [project.urls], no dev extras.

`make package` checks the built sdist and wheel themselves (scripts/check_package.py).
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

import airflow_provider_runs
from airflow_provider_runs import get_provider_info as provider_info_module
from airflow_provider_runs.get_provider_info import get_provider_info


def read_pyproject():
    import tomllib  # Python 3.11+

    return tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())


PYPROJECT = read_pyproject()


def test_the_version_is_written_once_in_the_package():
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "airflow_provider_runs/__init__.py"
    assert get_provider_info()["versions"] == [airflow_provider_runs.__version__]


def test_no_developer_only_extras_are_published():
    assert "optional-dependencies" not in PYPROJECT["project"]
    assert {"test", "e2e"} <= set(PYPROJECT["dependency-groups"])


def test_documentation_url_comes_from_the_project_urls(monkeypatch):
    class Metadata:
        def get_all(self, name):
            assert name == "Project-URL"
            return ["Homepage, https://example.test/", "Documentation, https://example.test/docs"]

    monkeypatch.setattr(importlib.metadata, "metadata", lambda name: Metadata())
    assert get_provider_info()["documentation-url"] == "https://example.test/docs"


def test_documentation_url_is_none_when_not_installed(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "metadata", missing)
    assert provider_info_module._documentation_url() is None


def test_installed_metadata_matches_pyproject():
    try:
        metadata = importlib.metadata.metadata("airflow-provider-runs")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("the package is not installed")
    assert metadata["Version"] == airflow_provider_runs.__version__
    assert get_provider_info()["documentation-url"] == PYPROJECT["project"]["urls"]["Documentation"]
