"""The song catalog is copied again only when its files changed: an unchanged catalog keeps the rows
staging_songs holds (no COPY), and anything that could make them differ (a file added, removed,
rewritten or touched, the table emptied, a stricter MAXERROR) copies it again."""

from __future__ import annotations

import os
import shutil

import boto3
import pytest

from sparkify.copy import Storage
from sparkify.pipeline import Session


@pytest.fixture
def lake_copy(small_lake, tmp_path):
    """A copy of the small lake that a test may change."""
    lake, manifest = small_lake
    out = tmp_path / "lake"
    shutil.copytree(lake, out)
    return out, manifest


def staged_at(s: Session) -> str:
    return str(s.query("status/staged_catalog").iloc[0]["staged_at"])


def song_files(lake) -> list[str]:
    return sorted(str(p) for p in (lake / "song_data").rglob("*.json"))


def test_an_unchanged_catalog_is_kept_and_a_changed_one_copied_again(warehouse, make_config, lake_copy):
    lake, manifest = lake_copy
    with Session(make_config(lake)) as s:
        s.create_tables()
        first = s.stage("staging_songs", progress=False, when_changed=True)
        assert not first.kept_from and first.rows_loaded == manifest["song_files"]
        stamp = staged_at(s)

        kept = s.stage("staging_songs", progress=False, when_changed=True)
        assert kept.kept_from == stamp and staged_at(s) == stamp  # no COPY: staging_log untouched
        assert (kept.files, kept.records_read, kept.rows_loaded, kept.rows_rejected) == (
            first.files, first.records_read, first.rows_loaded, first.rows_rejected)

        forced = s.stage("staging_songs", progress=False)  # when_changed=False: always a COPY
        assert not forced.kept_from and staged_at(s) != stamp

        files = song_files(lake)
        changes = {
            "rewritten": lambda: open(files[0], "ab").write(b"\n"),
            "touched": lambda: os.utime(files[1], ns=(1, 1)),
            "removed": lambda: os.remove(files[2]),
            "added": lambda: shutil.copy(files[3], files[3].replace(".json", "_copy.json")),
        }
        for what, change in changes.items():
            assert s.stage("staging_songs", progress=False, when_changed=True).kept_from, what
            change()
            again = s.stage("staging_songs", progress=False, when_changed=True)
            assert not again.kept_from, f"a catalog file {what} must be copied again"
        assert again.rows_loaded == manifest["song_files"]  # one removed, one added


def test_a_table_that_no_longer_holds_the_copy_is_copied_again(warehouse, make_config, lake_copy):
    lake, manifest = lake_copy
    with Session(make_config(lake)) as s:
        s.create_tables()
        s.stage("staging_songs", progress=False, when_changed=True)
        with s.conn.cursor() as cur:
            cur.execute("DELETE FROM staging_songs WHERE song_id IN (SELECT song_id FROM staging_songs LIMIT 1)")
        s.conn.commit()
        again = s.stage("staging_songs", progress=False, when_changed=True)
        assert not again.kept_from and again.rows_loaded == manifest["song_files"]
        s.create_tables()  # staging_log dropped with the tables: nothing to keep
        assert not s.stage("staging_songs", progress=False, when_changed=True).kept_from


def test_a_copy_with_rejects_is_kept_only_within_max_errors(warehouse, make_config, lake_copy):
    lake, manifest = lake_copy
    with open(song_files(lake)[0], "ab") as handle:
        handle.write(b'\n{"song_id": "broken"\n')
    with Session(make_config(lake)) as s:
        s.create_tables()
        loaded = s.stage("staging_songs", progress=False, max_errors=5, when_changed=True)
        assert loaded.rows_rejected == 1
        assert s.stage("staging_songs", progress=False, max_errors=1, when_changed=True).kept_from
        # a stricter MAXERROR than the kept COPY passed: copied again, and it fails as it must
        from sparkify.copy import CopyError

        with pytest.raises(CopyError):
            s.stage("staging_songs", progress=False, max_errors=0, when_changed=True)


def test_an_s3_catalog_changes_with_an_object_rewritten(aws_env):
    s3 = boto3.client("s3", endpoint_url=aws_env, region_name="us-west-2")
    s3.create_bucket(Bucket="lake", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3.put_object(Bucket="lake", Key="song_data/A/a.json", Body=b'{"song_id": "a"}')
    s3.put_object(Bucket="lake", Key="song_data/B/b.json", Body=b'{"song_id": "b"}')
    s3.put_object(Bucket="lake", Key="song_database.json", Body=b'{"song_id": "prefix"}')
    storage = Storage(endpoint_url=aws_env, key="testing", secret="testing")
    files, digest = storage.fingerprint("s3://lake/song_data/")
    assert files == 2 and storage.fingerprint("s3://lake/song_data/") == (2, digest)
    assert storage.fingerprint("s3://lake/song_data")[0] == 3  # S3 prefix semantics
    s3.put_object(Bucket="lake", Key="song_data/A/a.json", Body=b'{"song_id": "A"}')  # same size, new content
    assert storage.fingerprint("s3://lake/song_data/") != (2, digest)
