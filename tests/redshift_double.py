"""A Redshift-shaped test double: a DB-API connection (enough of psycopg2's for the pipeline's Session,
SQLAlchemy's ``redshift+psycopg2`` dialect and jupysql) that records every statement it is sent and
rejects what Amazon Redshift rejects, with Redshift's error, instead of answering like PostgreSQL.

What it rejects is taken from AWS's documentation, section by section (Amazon Redshift Database
Developer Guide):

* "Unsupported PostgreSQL functions" (c_unsupported-postgresql-functions.html): the aggregate, array,
  date/time, math, set-returning, string, text-search and JSON functions listed there, and
  ``IS DISTINCT FROM``;
* "Unsupported PostgreSQL features" (c_unsupported-postgresql-features.html): CREATE INDEX, sequences,
  triggers, table partitioning and inheritance, tablespaces, savepoints, ``INSERT ... ON CONFLICT``,
  LISTEN/NOTIFY, ``COPY ... FROM STDIN`` (Redshift's COPY reads S3 and other AWS sources);
* "Unsupported PostgreSQL data types" (c_unsupported-postgresql-datatypes.html): arrays, serial
  types, JSONB, enumerations, network and geometric types, XML, INTERVAL columns;
* configuration parameters: only those of "Configuration reference" (cm_chap_ConfigurationRef.html)
  exist; ``SHOW standard_conforming_strings`` (which SQLAlchemy's plain postgresql dialect sends on
  its first connection) fails with "unrecognized configuration parameter";
* TRUNCATE "commits the transaction in which it is run" (r_TRUNCATE.html), so a later failure could
  not roll it back: the double refuses it inside a transaction. VACUUM cannot run in a transaction
  block at all (r_VACUUM_command.html).

A connection opened for ``SHOW`` and the like is answered as a cluster answers; SQL files of ``sql/``
are answered from the ``answers`` table given (``{"redshift/last_copy": (columns, rows)}``), other
statements from ``patterns`` (regex -> (columns, rows)), anything else with no rows.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import psycopg2
import psycopg2.errors
import psycopg2.extensions

from sparkify import sqlfiles

REDSHIFT_VERSION = ("PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 "
                    "(Red Hat 3.4.2-6.fc3), Redshift 1.0.77467")

UNSUPPORTED_FUNCTIONS = (
    # aggregate
    "STRING_AGG", "ARRAY_AGG", "EVERY", "XML_AGG", "XMLAGG", "CORR", "COVAR_POP", "COVAR_SAMP", "REGR_AVGX",
    "REGR_AVGY", "REGR_COUNT", "REGR_INTERCEPT", "REGR_R2", "REGR_SLOPE", "REGR_SXX", "REGR_SXY", "REGR_SYY",
    "JSON_AGG", "JSONB_AGG", "JSON_OBJECT_AGG",
    # array
    "ARRAY_LENGTH", "ARRAY_TO_STRING", "ARRAY_APPEND", "ARRAY_CAT", "ARRAY_POSITION", "UNNEST", "CARDINALITY",
    "STRING_TO_ARRAY",
    # date/time
    "CLOCK_TIMESTAMP", "JUSTIFY_DAYS", "JUSTIFY_HOURS", "JUSTIFY_INTERVAL", "PG_SLEEP", "TRANSACTION_TIMESTAMP",
    # math
    "DIV", "SETSEED", "WIDTH_BUCKET",
    # set-returning
    "GENERATE_SERIES", "GENERATE_SUBSCRIPTS",
    # string
    "BIT_LENGTH", "OVERLAY", "CONVERT_FROM", "CONVERT_TO", "ENCODE", "FORMAT", "QUOTE_NULLABLE",
    "REGEXP_MATCHES", "REGEXP_SPLIT_TO_ARRAY", "REGEXP_SPLIT_TO_TABLE", "STRING_TO_TABLE",
    # text search, JSON(B) construction, sequences, advisory locks, object size
    "TO_TSVECTOR", "TO_TSQUERY", "PLAINTO_TSQUERY", "TS_RANK", "JSONB_BUILD_OBJECT", "JSON_BUILD_OBJECT",
    "JSONB_EXTRACT_PATH_TEXT", "ROW_TO_JSON", "TO_JSON", "TO_JSONB", "NEXTVAL", "CURRVAL", "SETVAL",
    "PG_ADVISORY_LOCK", "PG_TRY_ADVISORY_LOCK", "PG_TABLE_SIZE", "PG_RELATION_SIZE", "PG_TOTAL_RELATION_SIZE",
    "PG_DATABASE_SIZE", "PG_SIZE_PRETTY",
)
UNSUPPORTED_FEATURES = (
    (r"\bIS\s+(NOT\s+)?DISTINCT\s+FROM\b", "IS DISTINCT FROM is not supported"),
    (r"^\s*CREATE\s+(UNIQUE\s+)?INDEX\b", "CREATE INDEX is not supported (Redshift uses sort keys)"),
    (r"^\s*(CREATE|ALTER|DROP)\s+SEQUENCE\b", "sequences are not supported (use IDENTITY)"),
    (r"^\s*CREATE\s+(CONSTRAINT\s+)?TRIGGER\b", "triggers are not supported"),
    (r"\bPARTITION\s+BY\s+(RANGE|LIST|HASH)\b", "table partitioning is not supported"),
    (r"\bINHERITS\s*\(", "table inheritance is not supported"),
    (r"\bTABLESPACE\b", "tablespaces are not supported"),
    (r"^\s*(SAVEPOINT|RELEASE\s+SAVEPOINT|ROLLBACK\s+TO)\b", "savepoints are not supported"),
    (r"\bON\s+CONFLICT\b", "INSERT ... ON CONFLICT is not supported (use MERGE)"),
    (r"^\s*(LISTEN|NOTIFY|UNLISTEN)\b", "LISTEN/NOTIFY is not supported"),
    (r"^\s*COPY\b.*\bFROM\s+STDIN\b", "COPY FROM STDIN is not supported: COPY reads Amazon S3"),
    (r"\bDISTINCT\s+ON\s*\(", "SELECT DISTINCT ON is not supported"),
    # data types
    (r"\b(BIG|SMALL)?SERIAL\b", "serial types are not supported (use IDENTITY)"),
    (r"\bJSONB\b", "the JSONB data type is not supported (use SUPER)"),
    (r"\w\s*\[\s*\]", "array types are not supported"),
    (r"\bARRAY\s*\[", "array constructors are not supported"),
    (r"\b(CIDR|INET|MACADDR|XML|TSVECTOR|TSQUERY|MONEY|BYTEA)\b(?!\s*\()", "the data type is not supported"),
    (r"\bGENERATED\s+(ALWAYS|BY\s+DEFAULT)\s+AS\s+IDENTITY\b", "use IDENTITY(seed, step) instead"),
    (r"::\s*REGCLASS\b", "object identifier types are not supported"),
)
# "Configuration reference": the parameters SET and SHOW know (plus SHOW's own forms)
CONFIGURATION = {
    "analyze_threshold_percent", "cast_super_null_on_error", "datashare_break_glass_session_var", "datestyle",
    "default_geometry_encoding", "describe_field_name_in_uppercase", "downcase_delimited_identifier",
    "enable_case_sensitive_identifier", "enable_case_sensitive_super_attribute", "enable_result_cache_for_session",
    "enable_numeric_rounding", "error_on_nondeterministic_update", "extra_float_digits",
    "interval_forbid_composite_literals", "json_parse_dedup_attributes", "json_parse_truncate_strings",
    "max_concurrency_scaling_clusters", "max_cursor_result_set_size", "mv_enable_aqmv_for_session",
    "navigate_super_null_on_error", "parse_super_null_on_error",
    "query_group", "search_path", "spatial_index_enabled", "statement_timeout", "stored_proc_log_min_messages",
    "timezone", "use_fips_ssl", "wlm_query_slot_count", "client_encoding", "application_name",
    "transaction isolation level", "all",
}
SHOW_ANSWERS = {"transaction isolation level": "serializable", "search_path": "$user, public",
                "statement_timeout": "0", "timezone": "UTC", "datestyle": "ISO, MDY", "client_encoding": "UNICODE"}

_FUNCTION = re.compile(r"\b(" + "|".join(UNSUPPORTED_FUNCTIONS) + r")\s*\(", re.IGNORECASE)
_FEATURES = [(re.compile(p, re.IGNORECASE | re.DOTALL), why) for p, why in UNSUPPORTED_FEATURES]
_LITERAL_OR_COMMENT = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", re.DOTALL)


def code_of(text: str) -> str:
    """The statement without comments and string literals (a word in a comment is no call)."""
    return _LITERAL_OR_COMMENT.sub(lambda m: "''" if m.group(0).startswith("'") else " ", text)


def rejection(text: str, in_transaction: bool) -> psycopg2.Error | None:
    """The error Redshift answers ``text`` with, or None when Redshift runs it."""
    code = code_of(text)
    show = re.match(r"^\s*SHOW\s+(.+?)\s*;?\s*$", code, re.IGNORECASE | re.DOTALL)
    if show and show.group(1).lower() not in CONFIGURATION:
        return psycopg2.errors.UndefinedObject(f'unrecognized configuration parameter "{show.group(1).lower()}"')
    set_ = re.match(r"^\s*SET\s+(SESSION\s+|LOCAL\s+)?(\w+)\s", code, re.IGNORECASE)
    if set_ and set_.group(2).lower() not in CONFIGURATION:
        return psycopg2.errors.UndefinedObject(f'unrecognized configuration parameter "{set_.group(2).lower()}"')
    if re.match(r"^\s*TRUNCATE\b", code, re.IGNORECASE) and in_transaction:
        return psycopg2.errors.FeatureNotSupported(
            "TRUNCATE commits the transaction in which it is run (Redshift): a later failure could not "
            "roll it back; run it outside the step's transaction or use DELETE")
    if re.match(r"^\s*VACUUM\b", code, re.IGNORECASE) and in_transaction:
        return psycopg2.errors.ActiveSqlTransaction("VACUUM cannot run inside a transaction block")
    found = _FUNCTION.search(code)
    if found:
        return psycopg2.errors.FeatureNotSupported(
            f"function {found.group(1).lower()}() is not supported by Amazon Redshift")
    for pattern, why in _FEATURES:
        if pattern.search(code):
            return psycopg2.errors.FeatureNotSupported(f"not supported by Amazon Redshift: {why}")
    return None


class RedshiftCursor:
    arraysize = 1

    def __init__(self, conn: RedshiftDouble) -> None:
        self.connection = conn
        self.description = None
        self.rowcount = -1
        self._rows: list[tuple] = []
        self.closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __iter__(self):
        while self._rows:
            yield self._rows.pop(0)

    def close(self) -> None:
        self.closed = True

    def execute(self, text: str, params=None) -> None:
        conn = self.connection
        if conn.closed:
            raise psycopg2.InterfaceError("connection already closed")
        if conn.aborted:
            raise psycopg2.errors.InFailedSqlTransaction(
                "current transaction is aborted, commands ignored until end of transaction block")
        bound = dict(params) if isinstance(params, dict) else params or {}
        conn.log.append(("execute", text, bound))
        error = rejection(text, conn.in_transaction) or conn.failure_for(text)
        if not conn.autocommit:
            conn.in_transaction = True
        if error is not None:
            conn.rejected.append((text, str(error)))
            conn.aborted = not conn.autocommit
            raise error
        columns, rows = conn.answer(text, bound)
        self.description = [(c, None, None, None, None, None, None) for c in columns] if columns else None
        self._rows = list(rows)
        self.rowcount = len(rows) if columns else 0

    def executemany(self, text: str, seq) -> None:
        for params in seq:
            self.execute(text, params)

    def fetchall(self) -> list[tuple]:
        rows, self._rows = self._rows, []
        return rows

    def fetchone(self):
        return self._rows.pop(0) if self._rows else None

    def fetchmany(self, size=None):
        size = size or self.arraysize
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    def setinputsizes(self, *args) -> None:
        pass


class RedshiftDouble:
    """A connection to a pretend Redshift cluster. ``log`` holds every statement (with its bound
    parameters) and every commit and rollback; ``rejected`` the statements Redshift would refuse.
    ``fail_on``: statements containing this text fail as a COPY fails, with ``fail_message``."""

    def __init__(self, answers: dict | None = None, patterns: dict | None = None, fail_on: str = "",
                 fail_message: str = "Load into table 'staging_events' failed. Check 'sys_load_error_detail' "
                                      "system table for details.") -> None:
        self.answers = dict(answers or {})
        self.patterns = {re.compile(k, re.IGNORECASE | re.DOTALL): v for k, v in (patterns or {}).items()}
        self.fail_on = fail_on
        self.fail_message = fail_message
        self.log: list[tuple] = []
        self.rejected: list[tuple[str, str]] = []
        self.closed = 0
        self.autocommit = False
        self.in_transaction = False
        self.aborted = False
        self.info = SimpleNamespace(server_version=80002)
        self.server_version = 80002
        self.dsn = "host=pretend.redshift.amazonaws.com dbname=sparkify"
        self.notices: list[str] = []

    # -- what the cluster answers ------------------------------------------------------------------
    def failure_for(self, text: str) -> psycopg2.Error | None:
        if self.fail_on and self.fail_on in text:
            return psycopg2.errors.InternalError_(self.fail_message)
        return None

    def answer(self, text: str, params: dict | None = None):
        for name, result in self.answers.items():
            if sqlfiles.load(name).text == text:
                return result(params or {}) if callable(result) else result  # a callable answers by parameters
        if any(f.text == text for f in sqlfiles.folder("checks")):
            return ["x"], []  # a check that finds no offending rows
        for pattern, result in self.patterns.items():
            if pattern.search(text):
                return result
        code = code_of(text).strip().rstrip(";").strip()
        show = re.match(r"^SHOW\s+(.+)$", code, re.IGNORECASE)
        if show:
            return [show.group(1).lower().replace(" ", "_")], [(SHOW_ANSWERS.get(show.group(1).lower(), ""),)]
        if re.match(r"^select\s+(pg_catalog\.)?version\(\)", code, re.IGNORECASE):
            return ["version"], [(REDSHIFT_VERSION,)]
        if re.match(r"^select\s+current_schema\(\)", code, re.IGNORECASE):
            return ["current_schema"], [("public",)]
        if re.match(r"^select\s+1$", code, re.IGNORECASE):
            return ["?column?"], [(1,)]
        return None, []  # a statement without a result

    # -- DB-API ------------------------------------------------------------------------------------
    def cursor(self, *args, **kwargs):
        return RedshiftCursor(self)

    def commit(self) -> None:
        self.log.append(("rollback",) if self.aborted else ("commit",))
        self.in_transaction = self.aborted = False

    def rollback(self) -> None:
        self.log.append(("rollback",))
        self.in_transaction = self.aborted = False

    def close(self) -> None:
        self.closed = 1

    def get_transaction_status(self) -> int:
        if self.aborted:
            return psycopg2.extensions.TRANSACTION_STATUS_INERROR
        return (psycopg2.extensions.TRANSACTION_STATUS_INTRANS if self.in_transaction
                else psycopg2.extensions.TRANSACTION_STATUS_IDLE)

    @property
    def status(self) -> int:
        return psycopg2.extensions.STATUS_IN_TRANSACTION if self.in_transaction else psycopg2.extensions.STATUS_READY

    def set_session(self, **kwargs) -> None:
        if "autocommit" in kwargs:
            self.autocommit = bool(kwargs["autocommit"])

    def set_isolation_level(self, level) -> None:
        self.autocommit = level == psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT

    def set_client_encoding(self, encoding) -> None:
        pass

    # -- for assertions ------------------------------------------------------------------------------
    def statements(self) -> list[tuple]:
        """The log without the defensive rollbacks that open each transaction."""
        return [entry for entry in self.log if entry != ("rollback",)]

    def texts(self) -> list[str]:
        return [entry[1] for entry in self.log if entry[0] == "execute"]


# Back-compatible name: the conformance tests' recording connection is this double.
RecordingConnection = RedshiftDouble
