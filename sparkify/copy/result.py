"""What a COPY reports: its counts and rejects (:class:`CopyResult`, :class:`LoadError`), or its failure
(:class:`CopyError`)."""

from __future__ import annotations

from dataclasses import dataclass, field

RAW_LIMIT = 1024  # stl_load_errors.raw_line / raw_field_value hold 1024 characters


class CopyError(RuntimeError):
    """A COPY that failed: bad statement, missing source, or more rejects than MAXERROR."""

    def __init__(self, message: str, result: CopyResult | None = None) -> None:
        super().__init__(message)
        self.result = result


class EmptySource(CopyError):
    """The COPY's source prefix matches no files (Redshift: 'The specified S3 prefix does not exist')."""


@dataclass
class LoadError:
    """One rejected record, as a row of ``stl_load_errors``."""

    filename: str
    line_number: int
    colname: str
    type: str
    col_length: str
    raw_line: str
    raw_field_value: str
    err_code: int
    err_reason: str


@dataclass
class CopyResult:
    table: str
    source: str
    query_id: int = 0
    files: int = 0
    records_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    seconds: float = 0.0
    errors: list[LoadError] = field(default_factory=list)
    per_file: list[tuple[str, int, int, int]] = field(default_factory=list)  # (file, read, loaded, rejected)
