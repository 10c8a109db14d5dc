"""The package metadata tells the truth: the source tree carries no
license (docs/packaging.md, "License"), so pyproject.toml claims none
(no license field, no License classifier), and its name and version are
the Node client's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

CLIENTS = Path(__file__).resolve().parent.parent.parent


def _project() -> dict:
    with open(CLIENTS / "python" / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def test_pyproject_claims_no_license() -> None:
    project = _project()
    assert "license" not in project
    assert "license-files" not in project
    assert not [c for c in project.get("classifiers", [])
                if c.startswith("License ::")]


def test_same_name_and_version_as_the_node_client() -> None:
    project = _project()
    node = json.loads((CLIENTS / "node" / "package.json").read_text())
    assert (project["name"], project["version"]) == (node["name"],
                                                      node["version"])
    assert node["license"] == "UNLICENSED" and node["private"] is True
