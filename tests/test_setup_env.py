"""scripts/venv.py: the lock agrees with pyproject, and setup failures are one actionable line."""

from __future__ import annotations

import importlib.util
import os
import sys
import tomllib

import pytest
from helpers import ROOT
from packaging.requirements import Requirement
from packaging.version import Version


def load_script():
    spec = importlib.util.spec_from_file_location("fc_venv_script", ROOT / "scripts" / "venv.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


venv = load_script()

# `make test-latest` runs before `make lock` rewrites the lock, so there the lock may lag
# pyproject's ranges on purpose (a bound just raised): those checks belong to the locked suite.
lock_checks = pytest.mark.skipif(bool(os.environ.get("FC_FINETUNE_TEST_LATEST")),
                                 reason="make test-latest: the lock is rewritten after this run")


def project_requirements() -> list[Requirement]:
    table = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = table["project"]
    names = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        names += extra
    tool = table["tool"]["fc-finetune"]
    return [Requirement(r) for r in names + tool["no-deps"] + tool["no-deps-requires"]]


@lock_checks
def test_lock_pins_every_requirement_inside_its_range():
    pins = venv.read_lock()
    for requirement in project_requirements():
        name = venv.canonical(requirement.name)
        assert name in pins, f"requirements/lock.txt has no {name}: run `make lock`"
        assert requirement.specifier.contains(Version(pins[name]), prereleases=True), \
            f"lock pins {name}=={pins[name]}, outside pyproject's {requirement}: run `make lock`"


@lock_checks
def test_every_upper_bound_is_the_locked_minor_release():
    """Upper bounds say what was tested: each is the release after the locked minor one."""
    pins = venv.read_lock()
    for requirement in project_requirements():
        uppers = [Version(s.version) for s in requirement.specifier if s.operator == "<"]
        assert len(uppers) == 1, f"{requirement} needs exactly one upper bound"
        locked = Version(pins[venv.canonical(requirement.name)])
        assert uppers[0].release[:2] == (locked.major, locked.minor + 1), \
            f"{requirement}: locked {locked}, so the upper bound should be <{locked.major}.{locked.minor + 1}"


@lock_checks
def test_lock_includes_the_build_tools_and_torch():
    pins = venv.read_lock()
    for name in ("pip", "setuptools", "wheel", "torch", "xgrammar", "apache-tvm-ffi"):
        assert name in pins


def test_lock_lines_must_be_exact_pins(tmp_path, monkeypatch):
    lock = tmp_path / "requirements" / "lock.txt"
    lock.parent.mkdir()
    lock.write_text("# header\ntorch==2.13.0\ntransformers>=5\n")
    monkeypatch.setattr(venv, "ROOT", tmp_path)
    monkeypatch.setattr(venv, "LOCK", lock)
    with pytest.raises(venv.SetupError, match=r"line 3 is not `name==version`.*make lock"):
        venv.read_lock()
    lock.unlink()
    with pytest.raises(venv.SetupError, match="is missing: restore it from git"):
        venv.read_lock()


def test_old_python_is_one_line_with_the_fix(monkeypatch):
    monkeypatch.setattr(sys, "version_info", (3, 10, 12, "final", 0))
    with pytest.raises(venv.SetupError, match=r"needs Python 3\.11 to 3\.12.*is 3\.10: install python3\.11"):
        venv.check_python()


def test_unreachable_index_is_named(monkeypatch, tmp_path):
    monkeypatch.setattr(venv, "index_url", lambda: "https://pypi.example/simple/")
    monkeypatch.setattr(venv, "index_problem", lambda url: "Name or service not known")
    output = ("WARNING: Retrying ... NewConnectionError\n"
              "ERROR: No matching distribution found for transformers==5.24.0\n")
    line = venv.explain(output, "fc-finetune[dev]", tmp_path / "setup.log", 1)
    assert line.startswith("cannot reach the package index https://pypi.example/simple/ (Name or service not known)")
    assert "PIP_INDEX_URL" in line and "\n" not in line


def test_lock_that_no_longer_resolves_says_run_make_lock(monkeypatch, tmp_path):
    monkeypatch.setattr(venv, "index_url", lambda: "https://pypi.org/simple/")
    monkeypatch.setattr(venv, "index_problem", lambda url: None)
    output = "ERROR: Could not find a version\nERROR: No matching distribution found for peft==0.21.2\n"
    line = venv.explain(output, "fc-finetune[dev]", tmp_path / "setup.log", 1)
    assert "no longer resolves" in line and "peft==0.21.2" in line and "make lock" in line
    conflict = venv.explain("ERROR: ResolutionImpossible: ...", "x", tmp_path / "setup.log", 1)
    assert "conflict" in conflict and "make lock" in conflict


def test_full_disk_and_other_failures(tmp_path):
    log = tmp_path / "setup.log"
    assert "out of disk space" in venv.explain("OSError: [Errno 28] No space left on device", "torch", log, 1)
    other = venv.explain("noise\nERROR: Failed building wheel for thing\n", "torch", log, 1)
    assert other == f"pip failed installing torch: ERROR: Failed building wheel for thing (full log: {log})"


def test_local_builds_match_their_lock_version():
    assert venv.same_version("2.13.0+cpu", "2.13.0")
    assert venv.same_version("5.24.0", "5.24.0")
    assert not venv.same_version("5.23.0", "5.24.0")


def test_pinned_names_the_lock_version_and_refuses_unknown_packages():
    pins = {"xgrammar": "0.2.9", "torch": "2.13.0"}
    assert venv.pinned(pins, "xgrammar>=0.2.8,<0.3") == "xgrammar==0.2.9"
    assert venv.pinned(pins, "torch") == "torch==2.13.0"
    with pytest.raises(venv.SetupError, match="has no version for numpy"):
        venv.pinned(pins, "numpy>=1")
