"""The local backend keeps each statement's PostgreSQL translation in the warehouse folder, so that a
new kernel (one per notebook) does not parse again what an earlier one ran; an edited statement, or
another translator, is translated anew."""

from __future__ import annotations

import pytest
from conftest import write_config

from sparkify import dialect
from sparkify.backends import local
from sparkify.backends.local import LocalBackend
from sparkify.config import load_config

TEXT = "SELECT NVL(level, 'free') AS level, GETDATE() AS now FROM users"


@pytest.fixture
def backend(tmp_path):
    local._translated.cache_clear()  # as in a new process
    config = write_config(tmp_path / "dwh.cfg", {"LOCAL": {"DATA_DIR": str(tmp_path / "warehouse")}})
    return LocalBackend(load_config(config))


def _refuse(text: str, where: str, *rest) -> str:
    raise AssertionError(f"{where} was parsed again")


def test_a_translation_is_kept_and_reused_by_a_new_process(backend, monkeypatch):
    backend.warehouse.data_dir.mkdir()
    translated = backend.translate(TEXT, "sql/x.sql")
    assert "COALESCE" in translated
    kept = list((backend.warehouse.data_dir / "translated-sql").iterdir())
    assert len(kept) == 1 and kept[0].read_text() == translated
    local._translated.cache_clear()
    monkeypatch.setattr(dialect, "to_postgres", _refuse)
    assert backend.translate(TEXT, "sql/x.sql") == translated  # read back, not parsed


def test_an_edited_statement_or_another_translator_is_translated_anew(backend, monkeypatch):
    backend.warehouse.data_dir.mkdir()
    backend.translate(TEXT, "sql/x.sql")
    calls = []
    real = dialect.to_postgres
    monkeypatch.setattr(dialect, "to_postgres",
                        lambda text, where, *rest: calls.append(text) or real(text, where, *rest))
    backend.translate(TEXT + " WHERE user_id = 1", "sql/x.sql")
    assert len(calls) == 1
    local._translated.cache_clear()
    monkeypatch.setattr(local, "_translator", lambda: "another sqlglot\n")
    backend.translate(TEXT, "sql/x.sql")
    assert len(calls) == 2
    assert len(list((backend.warehouse.data_dir / "translated-sql").iterdir())) == 3


def test_no_warehouse_folder_no_kept_translation(backend):
    """Translating never creates the warehouse's folder (e.g. before notebook 00 made it)."""
    assert "COALESCE" in backend.translate(TEXT, "sql/x.sql")
    assert not backend.warehouse.data_dir.exists()
