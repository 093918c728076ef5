"""Where things are: the one place that resolves the project's paths.

Two kinds of paths, resolved differently:

* **resources** ship with the code and are only read: the Redshift SQL (``sql/``), the notebooks
  (``notebooks/``) and the nbconvert report template (``sparkify/templates/``). In a checkout (an
  editable install, or the tests) they are the checkout's own top-level folders. In an installed
  wheel they are package data: ``pyproject.toml`` maps ``sql/`` to ``sparkify/sql/`` and
  ``notebooks/`` to ``sparkify/notebooks/``, so a wheel's ``sparkify`` folder holds them under the
  same names as the checkout root does.
* the **workspace** is where a user's files are written and read: ``dwh.cfg``, the local warehouse
  (``.warehouse/``), the generated sample lake (``data/sample/``) and ``reports/``. It is
  ``SPARKIFY_HOME`` when set, else the checkout when running from one, else the current directory.
  A batch run starts its notebook kernels in the workspace, so they resolve the same one.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT_MARKER = 'name = "sparkify-warehouse"'


def _checkout_root() -> Path | None:
    """The repository root when the package is imported from a checkout, else None (installed wheel).
    The marker is our own pyproject.toml: ``site-packages`` may well hold a ``sql`` folder (jupysql's)."""
    root = PACKAGE_DIR.parent
    pyproject = root / "pyproject.toml"
    try:
        is_ours = _CHECKOUT_MARKER in pyproject.read_text(encoding="utf-8")
    except OSError:
        return None
    return root if is_ours and (root / "sql").is_dir() else None


CHECKOUT_ROOT = _checkout_root()
RESOURCE_ROOT = CHECKOUT_ROOT or PACKAGE_DIR  # holds sql/ and notebooks/ in both layouts
SQL_DIR = RESOURCE_ROOT / "sql"
NOTEBOOKS_DIR = RESOURCE_ROOT / "notebooks"
TEMPLATE_DIR = PACKAGE_DIR / "templates"

WORKSPACE = Path(os.environ.get("SPARKIFY_HOME", "").strip() or CHECKOUT_ROOT or Path.cwd()).expanduser().resolve()
