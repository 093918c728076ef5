"""Configuration: defaults, overrides, validation errors naming key and file, secret redaction."""

import logging

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
    path = write_config(tmp_path / "r.cfg", {"DWH": {"DWH_BACKEND": "redshift"}, "S3": {"LOG_DATA": "/data/logs"}})
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
