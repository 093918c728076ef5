"""The sample-data generator against every rule of shared/DATA.md: layout, byte format, keys, types,
nulls, quirks and their rates, determinism, and writing to S3."""

from __future__ import annotations

import collections
import hashlib
import json
import re
from pathlib import Path

import boto3
import pytest

from sparkify.generate import LOG_KEYS, PRESETS, generate, misencode, params_for

SONG_KEYS = ["num_songs", "artist_id", "artist_latitude", "artist_longitude", "artist_location", "artist_name",
             "song_id", "title", "duration", "year"]
PAGES = {"NextSong", "Home", "Login", "Logout", "Downgrade", "Settings", "Help", "About", "Upgrade",
         "Save Settings", "Error", "Submit Upgrade", "Submit Downgrade"}


@pytest.fixture(scope="module")
def lake(udacity_lake):
    out, manifest = udacity_lake
    songs = []
    for path in sorted((out / "song_data").rglob("*.json")):
        raw = path.read_bytes()
        songs.append((path, raw, json.loads(raw)))
    events = []
    for path in sorted((out / "log_data").rglob("*.json")):
        raw = path.read_bytes()
        events.append((path, raw, [json.loads(line, object_pairs_hook=list) for line in raw.split(b"\n")]))
    return out, manifest, songs, events


def test_song_files_layout_and_byte_format(lake):
    out, manifest, songs, _ = lake
    assert len(songs) == manifest["song_files"] == PRESETS["udacity"].songs
    for path, raw, doc in songs:
        rel = path.relative_to(out / "song_data")
        track = rel.stem
        assert re.fullmatch(r"TR[A-Z0-9]{16}", track)
        assert rel.parts[:3] == (track[2], track[3], track[4])  # folders: 3rd, 4th, 5th characters
        assert raw.count(b"\n") == 0 and raw.isascii()  # one line, no trailing newline, \uXXXX escapes
        assert list(doc) == SONG_KEYS
        assert b'"num_songs": 1, ' in raw  # the real files' separators


def test_song_values_types_and_rates(lake):
    _, _, songs, _ = lake
    docs = [d for _, _, d in songs]
    n = len(docs)
    for d in docs:
        assert d["num_songs"] == 1
        assert re.fullmatch(r"AR[A-Z0-9]{16}", d["artist_id"]) and re.fullmatch(r"SO[A-Z0-9]{16}", d["song_id"])
        assert (d["artist_latitude"] is None) == (d["artist_longitude"] is None)
        assert d["artist_latitude"] is None or isinstance(d["artist_latitude"], float)
        assert isinstance(d["artist_location"], str) and isinstance(d["artist_name"], str)
        assert isinstance(d["title"], str) and isinstance(d["duration"], float)
        assert 6 <= d["duration"] <= 2700 and round(d["duration"], 5) == d["duration"]
        assert isinstance(d["year"], int) and (d["year"] == 0 or 1927 <= d["year"] <= 2010)
    null_coords = sum(d["artist_latitude"] is None for d in docs) / n
    empty_location = sum(d["artist_location"] == "" for d in docs) / n
    unknown_year = sum(d["year"] == 0 for d in docs) / n
    assert 0.60 <= null_coords <= 0.70
    assert 0.40 <= empty_location <= 0.50
    assert 0.28 <= unknown_year <= 0.38
    assert 8000 <= len({d["artist_id"] for d in docs}) <= 11000  # about 9,500 artists for 15,000 songs


def test_catalog_quirks(lake):
    _, _, songs, _ = lake
    docs = [d for _, _, d in songs]
    assert any(d["title"] != d["title"].strip() for d in docs)  # edge spaces
    assert any(d["title"].isdigit() for d in docs)  # numeric-looking titles
    assert any(len(d["artist_location"]) > 256 for d in docs)  # an HTML fragment
    by_artist = collections.defaultdict(set)
    for d in docs:
        by_artist[d["artist_id"]].add((d["artist_name"], d["artist_location"]))
    assert any(len(v) > 1 for v in by_artist.values())  # attributes disagree across songs
    pairs = collections.Counter((d["title"], d["artist_name"]) for d in docs)
    assert any(count > 1 for count in pairs.values())  # (title, artist) on two songs
    assert any(not d["artist_name"].isascii() for d in docs)


def test_log_files_layout_and_byte_format(lake):
    out, manifest, _, events = lake
    days = [p.relative_to(out / "log_data") for p, _, _ in events]
    assert len(days) == 30 == manifest["log_files"]
    assert days[0] == Path("2018/11/2018-11-01-events.json") and days[-1] == Path("2018/11/2018-11-30-events.json")
    for _, raw, _ in events:
        assert not raw.endswith(b"\n")
        assert b'"/' not in raw and b"/\"" not in raw.replace(b"\\/", b"")  # every / escaped as \/
        assert b"\\/" in raw


def test_log_keys_types_and_nulls(lake):
    _, manifest, _, events = lake
    all_events = [dict(pairs) for _, _, lines in events for pairs in lines]
    for _, _, lines in events:
        for pairs in lines:
            assert [k for k, _ in pairs] == LOG_KEYS
    assert len(all_events) == manifest["events"] == PRESETS["udacity"].events
    for e in all_events:
        assert e["page"] in PAGES and e["auth"] in ("Logged In", "Logged Out")
        assert e["method"] in ("PUT", "GET") and e["status"] in (200, 307, 404)
        assert isinstance(e["ts"], int) and isinstance(e["sessionId"], int) and isinstance(e["itemInSession"], int)
        assert e["level"] in ("free", "paid") and isinstance(e["userId"], str)
        song_fields = (e["artist"], e["song"], e["length"])
        if e["page"] == "NextSong":
            assert all(v is not None for v in song_fields) and isinstance(e["length"], float)
        else:
            assert all(v is None for v in song_fields)
        if e["auth"] == "Logged Out":
            assert e["userId"] == "" and e["page"] in ("Home", "Login", "About", "Help")
            assert all(e[k] is None for k in ("firstName", "lastName", "gender", "location", "registration",
                                              "userAgent"))
        else:
            assert e["userId"].isdigit() and e["gender"] in ("F", "M")
            assert isinstance(e["registration"], float) and e["registration"].is_integer()
            assert re.fullmatch(r".+, [A-Z]{2}(-[A-Z]{2})*", e["location"])


def test_log_realism(lake):
    _, manifest, _, events = lake
    all_events = [dict(pairs) for _, _, lines in events for pairs in lines]
    n = len(all_events)
    pages = collections.Counter(e["page"] for e in all_events)
    assert 0.78 <= pages["NextSong"] / n <= 0.90
    assert pages["Home"] > pages["Settings"] > 0 and pages["Submit Upgrade"] > 0
    logged_out = sum(e["auth"] == "Logged Out" for e in all_events) / n
    assert 0.005 <= logged_out <= 0.06
    users = {e["userId"] for e in all_events if e["userId"]}
    assert 80 <= len(users) <= 110 and len(users) == manifest["identified_users"]
    for field in ("userAgent", "firstName", "lastName", "gender", "location"):
        per_user = collections.defaultdict(set)
        for e in all_events:
            if e["userId"]:
                per_user[e["userId"]].add(e[field])
        assert all(len(v) == 1 for v in per_user.values()), field
    levels = collections.defaultdict(set)
    for e in all_events:
        if e["userId"]:
            levels[e["userId"]].add(e["level"])
    assert any(len(v) == 2 for v in levels.values())  # some users change level
    sessions = collections.Counter((e["sessionId"], e["itemInSession"]) for e in all_events)
    assert max(sessions.values()) == 1
    by_session = collections.defaultdict(list)
    for e in all_events:
        by_session[e["sessionId"]].append((e["ts"], e["itemInSession"]))
    for items in by_session.values():
        ordered = [i for _, i in sorted(items)]
        assert ordered == sorted(ordered) and ordered[0] == 0
    agents = [e["userAgent"] for e in all_events if e["page"] == "NextSong"]
    assert sum(a.startswith('"') for a in agents) / len(agents) > 0.5  # most wrapped in literal quotes
    chrome = sum("Chrome/" in a for a in agents) / len(agents)
    firefox = sum("Firefox/" in a for a in agents) / len(agents)
    assert 0.40 <= chrome <= 0.72 and 0.10 <= firefox <= 0.36
    import datetime as dt

    hours = collections.Counter(dt.datetime.utcfromtimestamp(e["ts"] / 1000).hour for e in all_events)
    assert sum(hours[h] for h in range(14, 20)) > 2 * sum(hours[h] for h in range(2, 8))  # afternoon > night
    plays = collections.Counter((e["song"], e["artist"]) for e in all_events if e["page"] == "NextSong")
    top = plays.most_common(1)[0][1]
    assert 10 <= top <= 120 and sum(1 for c in plays.values() if c == 1) > len(plays) / 2  # long tail
    misencoded = sum(1 for e in all_events if e["page"] == "NextSong" and "Ã" in e["artist"] + e["song"])
    assert misencoded == manifest["misencoded_plays"]
    assert abs(misencoded / pages["NextSong"] - PRESETS["udacity"].misencoded_share) < 0.015


def test_the_join_is_sparse_and_durations_mostly_agree(lake):
    _, manifest, songs, events = lake
    catalog = {(d["title"].strip(), d["artist_name"]): d["duration"] for _, _, d in songs}
    plays = [dict(p) for _, _, lines in events for p in lines if dict(p)["page"] == "NextSong"]
    matched = [p for p in plays if (p["song"], p["artist"]) in catalog]
    share = len(matched) / len(plays)
    assert 0.02 <= share <= 0.10  # only a small share of played songs are in the catalog
    differ = sum(1 for p in matched if p["length"] != catalog[(p["song"], p["artist"])])
    assert 0 < differ < len(matched) / 2


def test_log_json_path(lake):
    out, _, _, _ = lake
    doc = json.loads((out / "log_json_path.json").read_text())
    assert doc == {"jsonpaths": [f"$['{k}']" for k in LOG_KEYS]}


def test_misencoding_matches_the_real_quirk():
    assert misencode("Björk") == "BjÃ\u0083Â¶rk"


def _digest(directory: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            h.update(str(path.relative_to(directory)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def test_deterministic(tmp_path):
    params = params_for("demo", events=3000, songs=400, artists=200, played_songs=300, seed=11)
    generate(str(tmp_path / "a"), params)
    generate(str(tmp_path / "b"), params)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    generate(str(tmp_path / "c"), params_for("demo", events=3000, songs=400, artists=200, played_songs=300, seed=12))
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_demo_preset_resolves_most_plays(small_lake):
    _, manifest = small_lake
    assert manifest["catalog_plays"] / manifest["nextsong_events"] > 0.75


def test_writes_to_s3(tmp_path, aws_env):
    s3 = boto3.client("s3", endpoint_url=aws_env, region_name="us-west-2")
    s3.create_bucket(Bucket="sample-lake", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    params = params_for("demo", events=600, songs=50, artists=30, played_songs=40, days=3, seed=5)
    generate("s3://sample-lake/sparkify", params, endpoint_url=aws_env)
    local = tmp_path / "local"
    generate(str(local), params)
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="sample-lake", Prefix="sparkify/"):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    files = sorted(str(p.relative_to(local)) for p in local.rglob("*") if p.is_file())
    assert sorted(k[len("sparkify/"):] for k in keys) == files
    for rel in files:
        if rel == "generator_manifest.json":
            continue
        body = s3.get_object(Bucket="sample-lake", Key=f"sparkify/{rel}")["Body"].read()
        assert body == (local / rel).read_bytes(), rel


def test_cli_generate(tmp_path, capsys):
    from sparkify.cli import main

    assert main(["generate", "--out", str(tmp_path / "cli"), "--events", "500", "--songs", "40",
                 "--artists", "20", "--days", "2"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert len(list((tmp_path / "cli" / "log_data").rglob("*.json"))) == 2


def test_the_sample_lake_is_reused_only_when_written_by_this_generator(tmp_path, monkeypatch):
    from sparkify import generate as generator

    calls = []
    real = generator.generate

    def counting(out, params=None, **kwargs):
        calls.append(params)
        return real(out, params, **kwargs)

    monkeypatch.setattr(generator, "generate", counting)
    small = {"events": 300, "songs": 20, "artists": 10, "played_songs": 15, "days": 2}
    monkeypatch.setitem(generator.PRESETS, "demo", params_for("demo", **small))
    generator.ensure_sample_lake(tmp_path, "demo", 3)
    generator.ensure_sample_lake(tmp_path, "demo", 3)
    assert len(calls) == 1  # same parameters, same generator: reused
    generator.ensure_sample_lake(tmp_path, "demo", 4)
    assert len(calls) == 2  # another seed: written again
    monkeypatch.setattr(generator, "FORMAT_VERSION", generator.FORMAT_VERSION + 1)
    generator.ensure_sample_lake(tmp_path, "demo", 4)
    assert len(calls) == 3  # a newer generator: written again
