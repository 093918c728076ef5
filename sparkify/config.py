"""Configuration: the Udacity ``dwh.cfg`` shape, plus a backend choice.

Where settings come from, last one wins:

1. built-in defaults (local backend, generated sample data);
2. the file named by ``SPARKIFY_CONFIG``, else ``dwh.cfg`` in the project folder (optional);
3. environment overrides: ``SPARKIFY_BACKEND`` for ``[DWH] DWH_BACKEND``, and
   ``SPARKIFY_<SECTION>__<KEY>`` for any key (``SPARKIFY_S3__LOG_DATA=s3://bucket/logs``).

Nothing is read at import time: call :func:`load_config`. Secrets (AWS key and secret, database
passwords) are held in :class:`Secret`, which never shows its value in ``repr``/``str``, and are
registered with :func:`redact` so that log lines and error messages can be scrubbed.
"""

from __future__ import annotations

import configparser
import ipaddress
import logging
import os
import re
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path

from .paths import WORKSPACE

PROJECT_ROOT = WORKSPACE  # dwh.cfg, .warehouse/ and data/sample/ live here (see sparkify/paths.py)
BACKENDS = ("local", "redshift")
DEPLOYMENTS = ("cluster", "serverless")  # [DWH] DWH_DEPLOYMENT: how the redshift backend is provisioned
SECRET_KEYS = {("AWS", "KEY"), ("AWS", "SECRET"), ("DWH", "DWH_DB_PASSWORD"), ("CLUSTER", "DWH_DB_PASSWORD")}
REDACTED = "********"
DEFAULTS = "built-in defaults"  # Config.source when no file was read

# Redshift defaults: the public Udacity data lake.
UDACITY_S3 = {
    "LOG_DATA": "s3://udacity-dend/log_data",
    "LOG_JSONPATH": "s3://udacity-dend/log_json_path.json",
    "SONG_DATA": "s3://udacity-dend/song_data",
    "REGION": "us-west-2",
}


class ConfigError(ValueError):
    """A missing or malformed setting; the message names the key, the file and a valid example."""


class Secret:
    """A string that does not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})" if self._value else "Secret('')"

    __str__ = __repr__

    def __reduce__(self):  # never pickle a secret into a file or a child process by accident
        raise TypeError("a Secret cannot be pickled")


_known_secrets: set[str] = set()


def redact(text: str) -> str:
    """Replace every registered secret value in ``text``."""
    for value in sorted(_known_secrets, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text


def register_secret(value: str) -> None:
    if value and len(value) >= 4:
        _known_secrets.add(value)


class RedactingFilter(logging.Filter):
    """Scrubs registered secrets from every record passing through a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _known_secrets:
            record.msg = redact(record.getMessage())
            record.args = None
        return True


def install_log_redaction() -> None:
    """Attach the redacting filter to the root logger's handlers (idempotent)."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


@dataclass(frozen=True)
class AwsSettings:
    key: Secret = field(default_factory=lambda: Secret(""))
    secret: Secret = field(default_factory=lambda: Secret(""))
    endpoint_url: str = ""  # S3-compatible store or test server for every boto3 call


@dataclass(frozen=True)
class DwhSettings:
    backend: str = "local"
    cluster_type: str = "multi-node"
    num_nodes: int = 2
    node_type: str = "ra3.large"
    iam_role_name: str = "sparkify-redshift-s3-read"
    cluster_identifier: str = "sparkify-cluster"
    db: str = "sparkify"
    db_user: str = "sparkify"
    db_password: Secret = field(default_factory=lambda: Secret(""))
    port: int = 5439
    iam_role_arn: str = ""
    allowed_cidr: str = ""  # who may reach the cluster on DWH_PORT, e.g. 203.0.113.7/32
    allow_public: bool = False  # must be true to admit a /0 network (everyone)
    deployment: str = "cluster"  # cluster (provisioned nodes) or serverless (namespace + workgroup)
    namespace: str = "sparkify-namespace"  # serverless: holds the database, users and the IAM role
    workgroup: str = "sparkify-workgroup"  # serverless: the compute, its network and its endpoint
    base_capacity: int = 8  # serverless: Redshift Processing Units (RPU) a query starts with


@dataclass(frozen=True)
class ClusterSettings:
    endpoint: str = ""
    db: str = "sparkify"
    db_user: str = "sparkify"
    db_password: Secret = field(default_factory=lambda: Secret(""))
    port: int = 5439


@dataclass(frozen=True)
class S3Settings:
    log_data: str = ""
    log_jsonpath: str = ""
    song_data: str = ""
    region: str = "us-west-2"


@dataclass(frozen=True)
class LocalSettings:
    data_dir: Path = PROJECT_ROOT / ".warehouse"  # embedded PostgreSQL lives here
    sample_dir: Path = PROJECT_ROOT / "data" / "sample"  # generated data lake for the local default
    sample_preset: str = "demo"
    sample_seed: int = 42


@dataclass(frozen=True)
class Config:
    source: str  # the file read, or DEFAULTS
    aws: AwsSettings
    dwh: DwhSettings
    cluster: ClusterSettings
    s3: S3Settings
    local: LocalSettings

    @property
    def backend(self) -> str:
        return self.dwh.backend

    @property
    def uses_sample_data(self) -> bool:
        """True when the local backend reads the generated sample lake (no [S3] given)."""
        return self.backend == "local" and self.s3.log_data == str(self.local.sample_dir / "log_data")

    def data_label(self) -> str:
        """The data a run reads, for people: the generated sample, or the configured log prefix."""
        if self.uses_sample_data:
            return f"generated sample data ({self.local.sample_preset} preset, seed {self.local.sample_seed})"
        if self.s3.log_data.startswith("s3://"):
            return self.s3.log_data
        logs = Path(self.s3.log_data)  # a local lake: its own name, not where it lies on this machine
        return f"local files {logs.parent.name}/{logs.name}"

    def sources(self) -> dict[str, str]:
        return {"log_data": self.s3.log_data, "log_jsonpath": self.s3.log_jsonpath, "song_data": self.s3.song_data}


# (section, key) -> (dataclass field, kind, example)
_SCHEMA: dict[tuple[str, str], tuple[str, str, str]] = {
    ("AWS", "KEY"): ("aws.key", "secret", "AKIA... (or leave empty to use the standard boto3 chain)"),
    ("AWS", "SECRET"): ("aws.secret", "secret", "the secret access key, or empty"),
    ("AWS", "ENDPOINT_URL"): ("aws.endpoint_url", "url", "http://127.0.0.1:5000 (or empty for AWS)"),
    ("DWH", "DWH_BACKEND"): ("dwh.backend", "backend", "local or redshift"),
    ("DWH", "DWH_CLUSTER_TYPE"): ("dwh.cluster_type", "cluster_type", "multi-node or single-node"),
    ("DWH", "DWH_NUM_NODES"): ("dwh.num_nodes", "posint", "2"),
    ("DWH", "DWH_NODE_TYPE"): ("dwh.node_type", "text", "ra3.large or dc2.large"),
    ("DWH", "DWH_IAM_ROLE_NAME"): ("dwh.iam_role_name", "text", "sparkify-redshift-s3-read"),
    ("DWH", "DWH_CLUSTER_IDENTIFIER"): ("dwh.cluster_identifier", "identifier", "sparkify-cluster"),
    ("DWH", "DWH_DB"): ("dwh.db", "identifier", "sparkify"),
    ("DWH", "DWH_DB_USER"): ("dwh.db_user", "identifier", "sparkify"),
    ("DWH", "DWH_DB_PASSWORD"): ("dwh.db_password", "secret", "8-64 characters with upper, lower case and a digit"),
    ("DWH", "DWH_PORT"): ("dwh.port", "port", "5439"),
    ("DWH", "DWH_IAM_ROLE_ARN"): ("dwh.iam_role_arn", "text",
                                  "arn:aws:iam::123456789012:role/sparkify (written by notebook 00)"),
    ("DWH", "DWH_ALLOWED_CIDR"): ("dwh.allowed_cidr", "cidr", "203.0.113.7/32"),
    ("DWH", "DWH_ALLOW_PUBLIC"): ("dwh.allow_public", "bool", "false"),
    ("DWH", "DWH_DEPLOYMENT"): ("dwh.deployment", "deployment", "cluster or serverless"),
    ("DWH", "DWH_NAMESPACE"): ("dwh.namespace", "serverless_name", "sparkify-namespace"),
    ("DWH", "DWH_WORKGROUP"): ("dwh.workgroup", "serverless_name", "sparkify-workgroup"),
    ("DWH", "DWH_BASE_CAPACITY"): ("dwh.base_capacity", "rpu", "8 (4, or a multiple of 8 up to 1024)"),
    ("CLUSTER", "DWH_ENDPOINT"): ("cluster.endpoint", "text",
                                  "sparkify-cluster.abc123.us-west-2.redshift.amazonaws.com"),
    ("CLUSTER", "DWH_DB"): ("cluster.db", "identifier", "sparkify"),
    ("CLUSTER", "DWH_DB_USER"): ("cluster.db_user", "identifier", "sparkify"),
    ("CLUSTER", "DWH_DB_PASSWORD"): ("cluster.db_password", "secret", "the cluster's master password"),
    ("CLUSTER", "DWH_PORT"): ("cluster.port", "port", "5439"),
    ("S3", "LOG_DATA"): ("s3.log_data", "uri", "s3://udacity-dend/log_data, file:///data/log_data or data/log_data"),
    ("S3", "LOG_JSONPATH"): ("s3.log_jsonpath", "uri", "s3://udacity-dend/log_json_path.json"),
    ("S3", "SONG_DATA"): ("s3.song_data", "uri", "s3://udacity-dend/song_data"),
    ("S3", "REGION"): ("s3.region", "region", "us-west-2"),
    ("LOCAL", "DATA_DIR"): ("local.data_dir", "path", ".warehouse (relative to the config file)"),
    ("LOCAL", "SAMPLE_DIR"): ("local.sample_dir", "path", "data/sample"),
    ("LOCAL", "SAMPLE_PRESET"): ("local.sample_preset", "preset", "demo or udacity"),
    ("LOCAL", "SAMPLE_SEED"): ("local.sample_seed", "int", "42"),
}

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,62}$")
_SERVERLESS_NAME = re.compile(r"^[a-z0-9-]{3,64}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


def _error(source: str, section: str, key: str, value: str | None, problem: str, example: str) -> ConfigError:
    shown = "" if value is None else f" = {value!r}"
    if (section, key) in SECRET_KEYS and value is not None:
        shown = f" = {REDACTED}"
    return ConfigError(f"{source}: [{section}] {key}{shown}: {problem}; a valid value looks like: {example}")


def _convert(source: str, base: Path, section: str, key: str, raw: str):
    _, kind, example = _SCHEMA[(section, key)]
    value = raw.strip()

    def bad(problem: str) -> ConfigError:
        return _error(source, section, key, value, problem, example)

    if kind == "secret":
        register_secret(value)
        return Secret(value)
    if kind == "backend":
        if value.lower() not in BACKENDS:
            raise bad("unknown backend")
        return value.lower()
    if kind == "deployment":
        if value.lower() not in DEPLOYMENTS:
            raise bad("unknown deployment")
        return value.lower()
    if kind == "serverless_name":
        if not _SERVERLESS_NAME.match(value):
            raise bad("not a valid name (3-64 lower-case letters, digits or -)")
        return value
    if kind == "rpu":
        try:
            number = int(value)
        except ValueError:
            raise bad("not a whole number") from None
        if not (number == 4 or (number % 8 == 0 and 8 <= number <= 1024)):
            raise bad("Redshift Serverless accepts 4, or 8 to 1024 in steps of 8")
        return number
    if kind == "cluster_type":
        if value not in ("multi-node", "single-node"):
            raise bad("unknown cluster type")
        return value
    if kind in ("posint", "int", "port"):
        try:
            number = int(value)
        except ValueError:
            raise bad("not a whole number") from None
        if kind == "posint" and number < 1:
            raise bad("must be at least 1")
        if kind == "port" and not 1 <= number <= 65535:
            raise bad("not a port number (1-65535)")
        return number
    if kind == "bool":
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off", ""):
            return False
        raise bad("not a boolean")
    if kind == "identifier":
        if not _IDENT.match(value):
            raise bad("not a valid name (letters, digits, _ or -, starting with a letter)")
        return value
    if kind == "cidr":
        if value:
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise bad("not an IPv4/IPv6 network in CIDR form") from None
        return value
    if kind == "region":
        if not _REGION.match(value):
            raise bad("not an AWS region name")
        return value
    if kind == "url":
        if value and not re.match(r"^https?://[^\s/]+", value):
            raise bad("not an http(s) URL")
        return value
    if kind == "preset":
        if value not in ("demo", "udacity"):
            raise bad("unknown preset")
        return value
    if kind == "path":
        path = Path(value).expanduser()
        return path if path.is_absolute() else (base / path).resolve()
    if kind == "uri":
        if not value:
            raise bad("must not be empty")
        if value.startswith("s3://"):
            if not re.match(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$", value):
                raise bad("not a valid s3://bucket/key URI")
            return value
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://", value) and not value.startswith("file://"):
            raise bad("unsupported scheme (use s3://, file:// or a local path)")
        path = Path(value[len("file://"):] if value.startswith("file://") else value).expanduser()
        return str(path if path.is_absolute() else (base / path).resolve())
    return value


def _env(name: str) -> str:
    """An environment variable's value; empty (or only blanks) counts as unset."""
    return os.environ.get(name, "").strip()


def default_config_path() -> Path:
    env = _env("SPARKIFY_CONFIG")
    return Path(env).expanduser() if env else PROJECT_ROOT / "dwh.cfg"


def load_config(path: str | Path | None = None, *, backend: str | None = None) -> Config:
    """Read the configuration (see module docstring); ``backend`` overrides everything else."""
    if path is not None and not str(path).strip():
        path = None
    explicit = path is not None or bool(_env("SPARKIFY_CONFIG"))
    cfg_path = Path(path).expanduser() if path is not None else default_config_path()
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str.upper  # keys are case-insensitive, as in the Udacity template
    if cfg_path.exists():
        if not cfg_path.is_file():
            raise ConfigError(f"{cfg_path}: not a file (a configuration file such as dwh.cfg is expected)")
        try:
            with open(cfg_path, encoding="utf-8") as handle:
                parser.read_file(handle)
        except OSError as err:
            raise ConfigError(f"{cfg_path}: cannot be read ({err.strerror})") from None
        except configparser.Error as err:
            raise ConfigError(f"{cfg_path}: not a valid INI file: {_parse_problem(err)}") from None
        source = str(cfg_path)
        base = cfg_path.resolve().parent
        _warn_if_readable_by_others(cfg_path, parser)
    elif explicit:
        raise ConfigError(f"{cfg_path}: configuration file not found (named by "
                          f"{'SPARKIFY_CONFIG' if path is None else 'the --config option'}); "
                          f"copy dwh.cfg.example to start one")
    else:
        source, base = DEFAULTS, PROJECT_ROOT

    raw: dict[tuple[str, str], tuple[str, str]] = {}  # (section, key) -> (value, where)
    for section in parser.sections():
        for key, value in parser.items(section):
            sec = section.upper()
            if (sec, key) not in _SCHEMA:
                known = sorted(k for s, k in _SCHEMA if s == sec)
                hint = f"known keys in [{sec}]: {', '.join(known)}" if known else \
                    f"known sections: {', '.join(sorted({s for s, _ in _SCHEMA}))}"
                raise ConfigError(f"{source}: [{section}] {key}: unknown setting; {hint}")
            raw[(sec, key)] = (value, source)
    for name, value in os.environ.items():
        if name.startswith("SPARKIFY_") and "__" in name and value.strip():
            sec, _, key = name[len("SPARKIFY_"):].partition("__")
            if (sec, key) not in _SCHEMA:
                raise ConfigError(f"environment variable {name}: unknown setting [{sec}] {key}")
            raw[(sec, key)] = (value, f"environment variable {name}")
    if _env("SPARKIFY_BACKEND"):
        raw[("DWH", "DWH_BACKEND")] = (_env("SPARKIFY_BACKEND"), "environment variable SPARKIFY_BACKEND")
    if backend:
        raw[("DWH", "DWH_BACKEND")] = (backend, "the --backend option")

    values: dict[str, dict[str, object]] = {"aws": {}, "dwh": {}, "cluster": {}, "s3": {}, "local": {}}
    for (sec, key), (value, where) in raw.items():
        target = _SCHEMA[(sec, key)][0]
        group, attr = target.split(".")
        values[group][attr] = _convert(where, base, sec, key, value)

    _check_s3_complete(raw)
    dwh = DwhSettings(**values["dwh"])
    local = LocalSettings(**values["local"])
    s3_values = values["s3"]
    if dwh.backend == "local":
        defaults = {"log_data": str(local.sample_dir / "log_data"),
                    "log_jsonpath": str(local.sample_dir / "log_json_path.json"),
                    "song_data": str(local.sample_dir / "song_data")}
    else:
        defaults = {k.lower(): v for k, v in UDACITY_S3.items()}
    s3 = S3Settings(**{**defaults, **s3_values})
    if dwh.backend == "redshift":
        for f in fields(S3Settings):
            value = getattr(s3, f.name)
            if f.name != "region" and not value.startswith("s3://"):
                raise _error(source, "S3", f.name.upper(), value, "the redshift backend loads from S3 only",
                             UDACITY_S3[f.name.upper()])
    return Config(source=source, aws=AwsSettings(**values["aws"]), dwh=dwh,
                  cluster=ClusterSettings(**values["cluster"]), s3=s3, local=local)


def _parse_problem(err: configparser.Error) -> str:
    """What is wrong with an INI file, by line number, never echoing a line: a line that does not
    parse may be a secret (a key pasted without its ``KEY =``)."""
    hidden = "its content is not shown, as it may hold a secret"
    if isinstance(err, configparser.MissingSectionHeaderError):
        return (f"line {err.lineno}: a setting before any [SECTION] header (such as [AWS]); {hidden}")
    if isinstance(err, configparser.ParsingError):
        lines = ", ".join(str(lineno) for lineno, _ in err.errors)
        return f"line(s) {lines}: not `KEY = value`, a [SECTION] header or a # comment; {hidden}"
    if isinstance(err, configparser.DuplicateOptionError):
        return f"line {err.lineno}: [{err.section}] {err.option.upper()} is set twice"
    if isinstance(err, configparser.DuplicateSectionError):
        return f"line {err.lineno}: section [{err.section}] appears twice"
    return f"{type(err).__name__} ({hidden})"


def _warn_if_readable_by_others(path: Path, parser: configparser.ConfigParser) -> None:
    """Warn, as ssh does for keys, when a file that holds secrets can be read by other users."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    held = sorted(f"[{section.upper()}] {key}" for section in parser.sections() for key, value in parser.items(section)
                  if (section.upper(), key) in SECRET_KEYS and value.strip())
    if held and mode & 0o077:
        message = (f"{path} holds secrets ({', '.join(held)}) and is readable by other users (mode "
                   f"{mode & 0o777:04o}): run `chmod 600 {path}`")
        warnings.warn(message, stacklevel=3)


S3_DATA_KEYS = ("LOG_DATA", "SONG_DATA")


def _check_s3_complete(raw: dict[tuple[str, str], tuple[str, str]]) -> None:
    """A user's [S3] data is given whole or not at all: LOG_DATA alone would join the user's logs to
    the built-in catalog (sample data, or the public Udacity bucket) without a word. LOG_JSONPATH may
    stay the built-in one (it describes the log format, not data); REGION alone is fine."""
    given = {key: where for (sec, key), (_, where) in raw.items()
             if sec == "S3" and key in (*S3_DATA_KEYS, "LOG_JSONPATH")}
    missing = [key for key in S3_DATA_KEYS if key not in given]
    if given and missing:
        named = ", ".join(f"[S3] {key} (in {where})" for key, where in sorted(given.items()))
        raise ConfigError(
            f"{named} is set but [S3] {' and '.join(missing)} is not: a partial [S3] override would mix your "
            f"data with the built-in sample data. Set {' and '.join(missing)} too (e.g. "
            f"{_SCHEMA[('S3', missing[0])][2]}), or remove the [S3] data settings to use the sample data.")


def require(config: Config, section: str, key: str) -> object:
    """The value of a setting that this step cannot do without, or a ConfigError naming it."""
    target, _, example = _SCHEMA[(section, key)]
    group, attr = target.split(".")
    value = getattr(getattr(config, group), attr)
    if value in ("", None) or (isinstance(value, Secret) and not value):
        raise _error(config.source, section, key, None, f"missing (needed by the {config.backend} backend)",
                     example)
    return value
