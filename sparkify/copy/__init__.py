"""The local COPY emulator: runs a Redshift ``COPY ... FORMAT AS JSON`` statement on PostgreSQL.

It executes the statement text itself (parsed by sqlglot), with Redshift's semantics:

* source: a key prefix, as S3 matches it (every object whose key *starts with* the prefix, not a
  folder walk), from a local directory or from S3 through boto3 (optional endpoint URL; unsigned
  requests when no credentials are configured, for public buckets); files in key order;
* ``JSON 'auto'`` (column names matched to keys exactly), ``'auto ignorecase'`` and a JSONPaths
  file (paths mapped to columns by position; ``$['key']``, ``$["key"]``, ``$.key`` and nested forms);
* options ``TIMEFORMAT``, ``BLANKSASNULL``, ``EMPTYASNULL``, ``TRUNCATECOLUMNS``, ``ACCEPTINVCHARS``,
  ``MAXERROR``, ``STATUPDATE`` (ANALYZE in the COPY's transaction); ``REGION``, ``COMPUPDATE`` and
  credentials are accepted and ignored;
* every rejected record goes to ``stl_load_errors`` (file, line, column, raw value, reason); more
  than MAXERROR rejects fail the COPY with a message naming the first bad file and line, and the
  caller's transaction is rolled back, leaving the target table unchanged;
* records read = rows loaded + rows rejected, per file and in total. A record is a non-blank line,
  or the lines of one pretty-printed object; blank lines separate records and are not records (as
  in Redshift's JSON reader, where whitespace between objects is ignored).

Values are checked in Python as Redshift would check them (VARCHAR lengths in bytes, integer
ranges, no fractional integers, NaN/Infinity rejected), then streamed to PostgreSQL with
``COPY ... FROM STDIN`` in chunks, so memory stays bounded whatever the input size and PostgreSQL
parses one chunk while Python prepares the next.

The modules, one job each, in the order a COPY uses them (each imports only those above it):

    result      CopyResult, LoadError and CopyError: what a COPY reports
    statement   the COPY text parsed into a CopyCommand (parse_copy)
    sources     Storage: keys under a prefix, and their bytes, from the local disk or S3
    convert     Redshift types: a JSON value checked and converted to a CSV field, or Reject
    columns     JSON 'auto', 'auto ignorecase' and JSONPaths: which value goes to which column
    records     files split into records (lines, pretty-printed objects), decoded as JSON objects
    rejects     bad records kept, MAXERROR enforced, stl_load_errors written
    binary      PostgreSQL's binary COPY format: a block of pyarrow columns, or one record, as rows
    stream      chunks of rows streamed into PostgreSQL's COPY FROM STDIN by a producer thread
    loaders     the bulk (pyarrow) and record-by-record loaders, and the files as CSV chunks
    execute     execute_copy: one COPY, from its text to stl_load_errors

Only what is named here is the package's interface. The results and errors are imported with the
package; the rest on first use, so that a process that stages nothing (every notebook kernel but
02's, the batch process) never loads pyarrow's JSON reader, sqlglot or boto3 for it.
"""

from .result import CopyError, CopyResult, EmptySource

__all__ = ["CopyError", "CopyResult", "EmptySource", "Storage", "execute_copy", "record_load_errors"]
_ON_FIRST_USE = {"execute_copy": "execute", "record_load_errors": "rejects", "Storage": "sources"}


def __getattr__(name: str):
    if name in _ON_FIRST_USE:
        import importlib

        return getattr(importlib.import_module(f".{_ON_FIRST_USE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
