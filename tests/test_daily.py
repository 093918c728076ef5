"""Daily runs: one day of logs at a time, in any order, re-runnable, equal to one full load; a late,
older day never regresses a user's level; a missing day is a clear error that changes nothing; and
`sparkify run --from/--to` writes one run folder per day."""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil

import pytest
from conftest import lake_sections, scratch_warehouse_dir, write_config

from sparkify.cli import main
from sparkify.copy import EmptySource
from sparkify.generate import generate, params_for
from sparkify.pipeline import STAR_TABLES, Session

KEYS = {"songplays": "songplay_id", "users": "user_id", "songs": "song_id", "artists": "artist_id",
        "time": "start_time"}


@pytest.fixture(scope="module")
def month_lake(tmp_path_factory):
    out = tmp_path_factory.mktemp("month_lake")
    manifest = generate(str(out), params_for("demo", events=4000, songs=250, artists=120, played_songs=220, days=30,
                                             seed=11))
    return out, manifest


def star(session: Session) -> dict[str, list[tuple]]:
    """Every row of the five star tables, in key order."""
    rows = {}
    with session.conn.cursor() as cur:
        for table, key in KEYS.items():
            cur.execute(f'SELECT * FROM "{table}" ORDER BY {key}')
            rows[table] = cur.fetchall()
    session.conn.commit()
    return rows


def load_day(session: Session, day: str, allow_empty: bool = False):
    session.stage("staging_events", progress=False, run_date=day, allow_empty=allow_empty)
    session.stage("staging_songs", progress=False)
    return session.transform(day)


def load_all(session: Session):
    session.stage("staging_events", progress=False)
    session.stage("staging_songs", progress=False)
    return session.transform()


def days(first: str, count: int) -> list[str]:
    start = dt.date.fromisoformat(first)
    return [(start + dt.timedelta(days=n)).isoformat() for n in range(count)]


def test_a_month_of_daily_runs_in_any_order_equals_one_full_load(warehouse, make_config, month_lake):
    lake, manifest = month_lake
    with Session(make_config(lake)) as s:
        s.create_tables()
        load_all(s)
        full = star(s)
        assert len(full["songplays"]) == manifest["nextsong_events"]

        s.create_tables()
        order = days("2018-11-01", 30)
        random.Random(5).shuffle(order)
        first_plays: dict[str, int] = {}  # the plays each day added when first loaded
        for day in [*order, order[7]]:  # every day once, in shuffled order, and one of them again
            before = star(s)
            results = load_day(s, day)
            assert set(results["status"]) == {"pass"}, day
            after = star(s)
            # the rows added and updated, taken from the statements' row counts, are what counting finds:
            # each table grew by `added`; `updated` plays are the day's plays loaded before (none, the
            # first time; all of them again on the re-run), `updated` songs and artists the whole catalog
            assert {t: s.changes[t]["added"] for t in STAR_TABLES} == {t: len(after[t]) - len(before[t])
                                                                       for t in STAR_TABLES}, day
            assert s.changes["songplays"]["updated"] == first_plays.get(day, 0), day
            first_plays.setdefault(day, s.changes["songplays"]["added"])
            assert s.changes["songs"]["updated"] == len(before["songs"]), day
            assert s.changes["artists"]["updated"] == len(before["artists"]), day
        assert star(s) == full  # row for row, songplay_id included

        logged = s.query("status/loaded_days")
        assert len(logged) == 30 and logged["files"].tolist() == [1] * 30
        assert int(logged["nextsong_events"].sum()) == manifest["nextsong_events"]
        assert int(logged["rows_read"].sum()) == manifest["events"]

        before = star(s)
        load_day(s, "2018-11-12")  # re-running a day changes nothing
        assert star(s) == before
        assert s.changes["songplays"]["added"] == 0 and s.changes["songplays"]["updated"] > 0
        assert all(s.changes[t]["added"] == 0 for t in STAR_TABLES)

        before = star(s)
        load_all(s)  # and a full load after daily ones gives the full load's tables again
        assert star(s) == full
        # a full load replaces every row: what each table held is updated, what it gained is added
        assert s.changes == {t: {"added": len(full[t]) - len(before[t]), "updated": len(before[t])}
                             for t in STAR_TABLES}


def test_a_full_load_then_daily_runs_keep_the_books(warehouse, make_config, month_lake):
    """The common pattern: a backfill, then a day loaded again; load_log still adds up to songplays."""
    lake, _ = month_lake
    with Session(make_config(lake)) as s:
        s.create_tables()
        load_all(s)
        full = star(s)
        for day in ("2018-11-30", "2018-11-04", "2018-11-30"):
            assert set(load_day(s, day)["status"]) == {"pass"}
        assert star(s) == full
        logged = s.query("status/loaded_days")
        assert int(logged["nextsong_events"].sum()) == len(full["songplays"])
        assert logged.set_index("day").loc[dt.date(2018, 11, 4), "files"] == 1  # the daily load's COPY counts


def _write_lake(root, days_events: dict[str, list[dict]], template_lake):
    """A lake of hand-written days (one JSON event per line), with the catalog and JSONPaths of another."""
    for day, events in days_events.items():
        path = root / "log_data" / day[:4] / day[5:7] / f"{day}-events.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(json.dumps(e) for e in events))
    shutil.copytree(template_lake / "song_data", root / "song_data")
    shutil.copy(template_lake / "log_json_path.json", root / "log_json_path.json")
    return root


def _event(ts: dt.datetime, level: str, item: int, session: int = 50) -> dict:
    return {"artist": "Nobody Known", "auth": "Logged In", "firstName": "Ada", "gender": "F", "itemInSession": item,
            "lastName": "Byron", "length": 201.5, "level": level, "location": "London, UK", "method": "PUT",
            "page": "NextSong", "registration": 1.5e12, "sessionId": session, "song": "Unknown Tune", "status": 200,
            "ts": int(ts.replace(tzinfo=dt.UTC).timestamp() * 1000), "userAgent": "Mozilla/5.0", "userId": "77"}


def test_a_late_older_day_never_regresses_a_users_level(warehouse, make_config, month_lake, tmp_path):
    lake = _write_lake(tmp_path / "lake", {
        "2018-11-01": [_event(dt.datetime(2018, 11, 1, 9), "free", 0)],
        "2018-11-02": [_event(dt.datetime(2018, 11, 2, 9), "paid", 0, session=51)],
    }, month_lake[0])
    with Session(make_config(lake)) as s:
        s.create_tables()
        load_day(s, "2018-11-02")
        load_day(s, "2018-11-01")  # arrives late
        users = star(s)["users"]
        assert [(u[0], u[4], u[5]) for u in users] == [(77, "paid", dt.datetime(2018, 11, 2, 9))]
        load_day(s, "2018-11-02")  # and the newer day again: still paid, one row
        assert [(u[0], u[4]) for u in star(s)["users"]] == [(77, "paid")]
        assert len(star(s)["songplays"]) == 2


def test_a_transform_merges_only_the_day_that_was_staged(warehouse, make_config, month_lake):
    lake, _ = month_lake
    with Session(make_config(lake)) as s:
        s.create_tables()
        load_day(s, "2018-11-03")
        before = star(s)
        s.stage("staging_events", progress=False, run_date="2018-11-04")
        with pytest.raises(ValueError, match=r"staging_events holds .*2018-11-04, not .*2018-11-05"):
            s.transform("2018-11-05")
        with pytest.raises(ValueError, match="stage every day first"):
            s.transform()
        assert star(s) == before


def test_a_missing_day_is_a_clear_error_that_changes_nothing(warehouse, make_config, month_lake):
    lake, _ = month_lake
    with Session(make_config(lake)) as s:
        s.create_tables()
        load_day(s, "2018-11-03")
        before = star(s)
        staged = s.table_counts().set_index("table_name")["row_count"].to_dict()
        with pytest.raises(EmptySource, match=r"log_data/2018/12/2018-12-25 matches no files"):
            s.stage("staging_events", progress=False, run_date="2018-12-25")
        assert s.table_counts().set_index("table_name")["row_count"].to_dict() == staged
        assert star(s) == before
        with pytest.raises(ValueError, match="run_date '2018-13-01': no such day"):
            s.stage("staging_events", progress=False, run_date="2018-13-01")

        report = s.stage("staging_events", progress=False, run_date="2018-12-25", allow_empty=True)
        assert (report.files, report.records_read) == (0, 0)
        s.stage("staging_songs", progress=False)
        assert set(s.transform("2018-12-25")["status"]) == {"pass"}  # a day without traffic: 0 plays
        logged = s.query("status/loaded_days").set_index("day")
        assert logged.loc[dt.date(2018, 12, 25), "nextsong_events"] == 0
        assert star(s)["songplays"] == before["songplays"]


@pytest.mark.slow
def test_sparkify_run_from_to_writes_one_run_folder_per_day(tmp_path, small_lake, monkeypatch, capsys):
    lake, _ = small_lake
    with scratch_warehouse_dir("sparkify-test-daily-") as warehouse_dir:
        config = write_config(tmp_path / "dwh.cfg", {"S3": lake_sections(lake),
                                                     "LOCAL": {"DATA_DIR": str(warehouse_dir)}})
        monkeypatch.setenv("SPARKIFY_REPORTS_DIR", str(tmp_path / "reports"))
        assert main(["--config", str(config), "run", "--from", "2018-11-02", "--to", "2018-11-03"]) == 0
        runs = sorted((tmp_path / "reports").glob("*-day-*"))
        assert [json.loads((r / "summary.json").read_text())["run_date"] for r in runs] == ["2018-11-02",
                                                                                             "2018-11-03"]
        assert all(not (r / "05_teardown_warehouse.ipynb").exists() for r in runs)  # a daily run stays up
        header = (runs[0] / "04_analyze_song_plays.html").read_text()
        assert "the day 2018-11-02" in header and "7 days to that day" in header
        index = (tmp_path / "reports" / "index.html").read_text()
        assert "day 2018-11-02" in index and "day 2018-11-03" in index
        out = capsys.readouterr().out
        assert "the day 2018-11-02" in out and "the day 2018-11-03" in out
        # the catalog is copied by the first day's run, kept by the second's (its files are unchanged)
        assert ["kept: files unchanged" in (r / "02_stage_source_data.html").read_text() for r in runs] == [False, True]
        assert main(["--config", str(config), "run", "--date", "2018-11-03", "--restage-catalog"]) == 0
        newest = max((tmp_path / "reports").glob("*-day-*"), key=lambda p: p.name)
        assert "kept: files unchanged" not in (newest / "02_stage_source_data.html").read_text()

        assert main(["--config", str(config), "run", "--date", "2018-12-25"]) == 1  # no file for that day
        assert "FAILED on 2018-12-25" in capsys.readouterr().err
        assert main(["--config", str(config), "run", "--date", "2018-12-25", "--allow-empty"]) == 0
        assert main(["--config", str(config), "run", "--date", "2018-11-31"]) == 2
        assert "no such day" in capsys.readouterr().err
