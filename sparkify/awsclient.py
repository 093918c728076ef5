"""The one place boto3 sessions and clients are built (COPY's S3 reads, the generator's S3 writes, the
AWS infrastructure calls).

Credentials are ``[AWS] KEY/SECRET`` when given, else the standard boto3 chain (environment, profile);
``endpoint_url`` sends the calls to an S3-compatible store or a test server. boto3 is imported on first
use, so that importing a module that may never reach AWS stays cheap.
"""

from __future__ import annotations

from typing import Any


def session(region: str, key: str = "", secret: str = "") -> Any:
    """A boto3 Session in ``region``: the key pair when given, else the standard boto3 chain."""
    import boto3

    return boto3.Session(aws_access_key_id=key or None, aws_secret_access_key=secret or None, region_name=region)


def client(service: str, *, endpoint_url: str = "", region: str = "us-west-2", key: str = "", secret: str = "",
           boto_session: Any = None, unsigned_when_anonymous: bool = False, max_attempts: int | None = None) -> Any:
    """A boto3 client for ``service``, from ``boto_session`` or a new :func:`session`.

    ``unsigned_when_anonymous``: with no credentials at all, send unsigned requests (reads of a public
    bucket such as udacity-dend) instead of failing. ``max_attempts``: retries in botocore's standard mode.
    """
    from botocore.config import Config as BotoConfig

    boto_session = boto_session or session(region, key, secret)
    config = BotoConfig(retries={"max_attempts": max_attempts, "mode": "standard"}) if max_attempts else None
    if unsigned_when_anonymous and boto_session.get_credentials() is None:
        from botocore import UNSIGNED

        unsigned = BotoConfig(signature_version=UNSIGNED)
        config = config.merge(unsigned) if config is not None else unsigned
    return boto_session.client(service, endpoint_url=endpoint_url or None, config=config)
