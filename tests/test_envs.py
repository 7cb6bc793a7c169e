"""The conda environments (envs/*.yaml) pin the versions pyproject.toml pins."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from _helpers import REPO

ENVS = sorted((REPO / "envs").glob("*.yaml"))


def normalize(name: str) -> str:
    """PEP 503 name: lower case, runs of -, _ and . as one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_pins() -> dict[str, str | None]:
    """Package -> pinned version (None if not pinned with ==), dependencies and extras."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        lines += extra
    pins: dict[str, str | None] = {}
    for line in lines:
        requirement = Requirement(line)
        exact = [s.version for s in requirement.specifier if s.operator == "=="]
        version = exact[0] if len(exact) == 1 else None
        name = normalize(requirement.name)
        assert pins.get(name, version) == version, f"pyproject.toml pins {name} twice"
        pins[name] = version
    return pins


def env_pins(path) -> dict[str, str | None]:
    """Package -> version of a conda environment file, conda and pip entries alike."""
    pins: dict[str, str | None] = {}
    for entry in yaml.safe_load(path.read_text())["dependencies"]:
        if isinstance(entry, dict):
            for line in entry.get("pip", []):
                requirement = Requirement(line)
                exact = [s.version for s in requirement.specifier if s.operator == "=="]
                pins[normalize(requirement.name)] = exact[0] if len(exact) == 1 else None
            continue
        # conda match spec: name, name=version, name==version or name=version=build
        name, _, rest = str(entry).replace(" ", "").partition("=")
        pins[normalize(name)] = rest.lstrip("=").split("=")[0] or None
    return pins


def test_pyproject_pins_every_runtime_dependency():
    """Reruns are byte-identical only with the same versions: every dependency is pinned."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = pyproject_pins()
    runtime = [normalize(Requirement(line).name) for line in project["dependencies"]]
    assert runtime and all(pins[name] for name in runtime), pins


@pytest.mark.parametrize("path", ENVS, ids=lambda p: p.name)
def test_env_pins_the_versions_of_pyproject(path):
    project = pyproject_pins()
    env = env_pins(path)
    shared = sorted(set(env) & set(project))
    assert shared, f"{path.name} lists none of pyproject.toml's packages"
    differing = {name: (env[name], project[name]) for name in shared if env[name] != project[name]}
    assert not differing, f"{path.name} vs pyproject.toml (env, pyproject): {differing}"


@pytest.mark.parametrize("path", ENVS, ids=lambda p: p.name)
def test_env_python_satisfies_requires_python(path):
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    python = env_pins(path).get("python")
    assert python, f"{path.name} does not pin python"
    assert python in SpecifierSet(requires), (python, requires)


def test_environment_files_are_found():
    assert {"psymodal.yaml", "mri.yaml", "speech.yaml", "learn.yaml"} <= {p.name for p in ENVS}
