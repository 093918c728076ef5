"""Configuration: defaults, overrides, validation errors naming key and file, secret redaction."""

import logging
from pathlib import Path

import pytest
from conftest import write_config

from sparkify.config import ConfigError, Secret, load_config, redact, require


def test_no_file_means_local_backend_on_sample_data(monkeypatch, tmp_path):
    monkeypatch.delenv("SPARKIFY_CONFIG")
    monkeypatch.setattr("sparkify.config.PROJECT_ROOT", tmp_path)
    monkeypatch.setattr("sparkify.config.default_config_path", lambda: tmp_path / "dwh.cfg")
    config = load_config()
    assert config.backend == "local"
    assert config.source == "built-in defaults"
    assert config.uses_sample_data
    assert config.s3.log_data.endswith("log_data")


def test_example_file_loads():
    from conftest import ROOT

    config = load_config(ROOT / "dwh.cfg.example")
    assert config.backend == "local"
    assert config.dwh.port == 5439


def test_redshift_defaults_to_the_udacity_bucket(tmp_path):
    config = load_config(write_config(tmp_path / "a.cfg", {"DWH": {"DWH_BACKEND": "redshift"}}))
    assert config.s3.log_data == "s3://udacity-dend/log_data"
    assert config.s3.region == "us-west-2"


@pytest.mark.parametrize(("section", "key", "value", "expected"), [
    ("DWH", "DWH_PORT", "abc", "not a whole number"),
    ("DWH", "DWH_PORT", "70000", "not a port number"),
    ("DWH", "DWH_BACKEND", "bigquery", "unknown backend"),
    ("DWH", "DWH_NUM_NODES", "0", "must be at least 1"),
    ("DWH", "DWH_ALLOWED_CIDR", "10.0.0.300/8", "CIDR"),
    ("DWH", "DWH_ALLOW_PUBLIC", "maybe", "not a boolean"),
    ("DWH", "DWH_CLUSTER_TYPE", "huge", "unknown cluster type"),
    ("S3", "REGION", "Oregon", "not an AWS region"),
    ("S3", "LOG_DATA", "ftp://x/y", "unsupported scheme"),
    ("S3", "SONG_DATA", "s3://UPPER/x", "not a valid s3://bucket/key"),
    ("AWS", "ENDPOINT_URL", "localhost:5000", "not an http(s) URL"),
    ("LOCAL", "SAMPLE_PRESET", "huge", "unknown preset"),
])
def test_malformed_values_name_key_file_and_example(tmp_path, section, key, value, expected):
    path = write_config(tmp_path / "bad.cfg", {section: {key: value}})
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message
    assert f"[{section}] {key}" in message
    assert expected in message
    assert "a valid value looks like" in message


def test_unknown_key_is_reported_with_the_known_ones(tmp_path):
    path = write_config(tmp_path / "bad.cfg", {"DWH": {"DWH_PASWORD": "x"}})
    with pytest.raises(ConfigError, match=r"\[DWH\] DWH_PASWORD: unknown setting; known keys in \[DWH\]"):
        load_config(path)


def test_missing_file_named_by_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SPARKIFY_CONFIG", str(tmp_path / "nope.cfg"))
    with pytest.raises(ConfigError, match="nope.cfg: configuration file not found"):
        load_config()


def test_redshift_needs_s3_sources(tmp_path):
    path = write_config(tmp_path / "r.cfg", {"DWH": {"DWH_BACKEND": "redshift"},
                                                 "S3": {"LOG_DATA": "/data/logs", "SONG_DATA": "s3://lake/songs"}})
    with pytest.raises(ConfigError, match=r"\[S3\] LOG_DATA .*loads from S3 only"):
        load_config(path)


def test_missing_required_setting_names_key_and_file(tmp_path):
    path = write_config(tmp_path / "r.cfg", {"DWH": {"DWH_BACKEND": "redshift"}})
    config = load_config(path)
    with pytest.raises(ConfigError, match=rf"{path}: \[CLUSTER\] DWH_ENDPOINT: missing"):
        require(config, "CLUSTER", "DWH_ENDPOINT")


def test_environment_overrides(monkeypatch, tmp_path):
    path = write_config(tmp_path / "c.cfg", {"S3": {"LOG_DATA": "logs"}})
    monkeypatch.setenv("SPARKIFY_CONFIG", str(path))
    monkeypatch.setenv("SPARKIFY_S3__SONG_DATA", "file:///srv/songs")
    monkeypatch.setenv("SPARKIFY_BACKEND", "local")
    config = load_config()
    assert config.s3.log_data == str(tmp_path / "logs")  # relative to the config file
    assert config.s3.song_data == "/srv/songs"
    monkeypatch.setenv("SPARKIFY_DWH__DWH_PORT", "x")
    with pytest.raises(ConfigError, match="environment variable SPARKIFY_DWH__DWH_PORT"):
        load_config()


def test_backend_option_wins(tmp_path):
    path = write_config(tmp_path / "c.cfg", {"DWH": {"DWH_BACKEND": "local"}})
    assert load_config(path, backend="redshift").backend == "redshift"


SECRET_VALUES = {"KEY": "FAKEKEYFAKEFAKEFAKE1234", "SECRET": "wJalrXUtnFEMIfakeSECRETxx"}


def test_secrets_never_print(tmp_path, caplog):
    path = write_config(tmp_path / "s.cfg", {"AWS": SECRET_VALUES,
                                             "DWH": {"DWH_DB_PASSWORD": "Passw0rdFake"},
                                             "CLUSTER": {"DWH_DB_PASSWORD": "Passw0rdFake"}})
    config = load_config(path)
    assert config.aws.key.reveal() == SECRET_VALUES["KEY"]
    for text in (repr(config), str(config), repr(config.aws), f"{config.dwh.db_password}"):
        for value in (*SECRET_VALUES.values(), "Passw0rdFake"):
            assert value not in text
    assert isinstance(config.cluster.db_password, Secret)
    assert redact("connect with Passw0rdFake failed") == "connect with ******** failed"

    from sparkify.config import RedactingFilter

    logger = logging.getLogger("sparkify.test")
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    caplog.handler.addFilter(RedactingFilter())
    logger.warning("key %s and %s", SECRET_VALUES["KEY"], "Passw0rdFake")
    assert SECRET_VALUES["KEY"] not in caplog.text and "Passw0rdFake" not in caplog.text
    assert "********" in caplog.text


def test_malformed_secret_is_not_echoed(tmp_path):
    # a bad value next to a secret: the error names the key but never prints the secret's value
    path = write_config(tmp_path / "s.cfg", {"DWH": {"DWH_DB_PASSWORD": "Sup3rSecretFake", "DWH_PORT": "x"}})
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "Sup3rSecretFake" not in str(err.value)


def test_secret_cannot_be_pickled():
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(Secret("x"))


# -- issue 14: parse errors never echo a secret; readable secrets warned about; partial [S3] --------
@pytest.mark.parametrize("text", [
    "AKIA" "FAKEFAKEFAKE7777\n[AWS]\nKEY = x\n",  # a key pasted before any section
    "[AWS]\nKEY = x\n" "AKIA" "FAKEFAKEFAKE7777\n",  # a line without `KEY =`
    "[AWS]\nKEY = x\n  wJalrFAKEcontinuation\n[DWH\n" "AKIA" "FAKEFAKEFAKE7777\n",
])
def test_a_malformed_ini_file_names_the_line_never_its_content(tmp_path, text):
    path = tmp_path / "dwh.cfg"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message and "line" in message and "not shown" in message
    assert "AKIA" "FAKEFAKEFAKE7777" not in message and "wJalrFAKE" not in message


def test_a_setting_given_twice_is_named_without_its_value(tmp_path):
    path = tmp_path / "dwh.cfg"
    path.write_text("[AWS]\nSECRET = FirstFakeSecret123\nSECRET = SecondFakeSecret456\n")
    with pytest.raises(ConfigError, match=r"line 3: \[AWS\] SECRET is set twice") as err:
        load_config(path)
    assert "FakeSecret" not in str(err.value)


def test_a_config_with_secrets_readable_by_others_is_warned_about(tmp_path):
    path = write_config(tmp_path / "dwh.cfg", {"AWS": {"KEY": "FAKEKEYFAKE1234", "SECRET": "FakeSecret0123"}})
    path.chmod(0o644)
    with pytest.warns(UserWarning, match=r"holds secrets \(\[AWS\] KEY, \[AWS\] SECRET\) and is readable by other "
                                         r"users \(mode 0644\): run `chmod 600"):
        load_config(path)
    path.chmod(0o600)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_config(path)  # private: no warning
        open_but_no_secret = write_config(tmp_path / "plain.cfg", {"DWH": {"DWH_PORT": "5439"}})
        open_but_no_secret.chmod(0o644)
        load_config(open_but_no_secret)  # nothing secret in it: no warning


@pytest.mark.parametrize("given", [{"LOG_DATA": "logs"}, {"SONG_DATA": "songs"}, {"LOG_JSONPATH": "paths.json"}])
@pytest.mark.parametrize("backend", ["local", "redshift"])
def test_a_partial_s3_override_is_an_error_naming_the_missing_keys(tmp_path, given, backend):
    """[S3] LOG_DATA without SONG_DATA joined the user's logs to the built-in sample catalog."""
    if backend == "redshift":
        given = {k: f"s3://lake/{v}" for k, v in given.items()}
    path = write_config(tmp_path / "dwh.cfg", {"DWH": {"DWH_BACKEND": backend}, "S3": given})
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    missing = [k for k in ("LOG_DATA", "SONG_DATA") if k not in given]
    assert f"[S3] {' and '.join(missing)} is not" in message and "mix your data with the built-in sample" in message
    assert str(path) in message


def test_a_partial_s3_override_through_the_environment_is_refused_too(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKIFY_S3__LOG_DATA", str(tmp_path / "logs"))
    with pytest.raises(ConfigError, match=r"environment variable SPARKIFY_S3__LOG_DATA.*\[S3\] SONG_DATA is not"):
        load_config()


def test_log_and_song_data_without_jsonpaths_keep_the_built_in_log_format(tmp_path):
    config = load_config(write_config(tmp_path / "dwh.cfg", {"S3": {"LOG_DATA": "logs", "SONG_DATA": "songs"}}))
    assert config.s3.log_data == str(tmp_path / "logs") and config.s3.log_jsonpath.endswith("log_json_path.json")
    assert not config.uses_sample_data


def test_sparkify_config_naming_a_directory_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKIFY_CONFIG", str(tmp_path))
    with pytest.raises(ConfigError, match=rf"{tmp_path}: not a file"):
        load_config()


def test_sparkify_config_naming_an_unreadable_file_is_an_error(tmp_path, monkeypatch):
    """As root every file is readable: the read is then done as an ordinary user (effective uid)."""
    import os
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="sparkify-test-cfg-", dir="/tmp"))
    folder.chmod(0o755)
    path = write_config(folder / "dwh.cfg", {"DWH": {"DWH_PORT": "5439"}})
    path.chmod(0o000)
    monkeypatch.setenv("SPARKIFY_CONFIG", str(path))
    root = os.geteuid() == 0
    try:
        if root:
            from test_warehouse import NON_ROOT_USER, _ensure_user

            user = _ensure_user(NON_ROOT_USER)
            os.setegid(user.pw_gid)
            os.seteuid(user.pw_uid)
        with pytest.raises(ConfigError, match=rf"{path}: cannot be read \(Permission denied\)"):
            load_config()
    finally:
        if root:
            os.seteuid(0)
            os.setegid(0)
        shutil.rmtree(folder, ignore_errors=True)
