"""The star schema from hand-built staging rows whose right answers are worked out by hand;
idempotency; every data-quality check shown to fail; agreement with a generated lake."""

from __future__ import annotations

import datetime as dt
import hashlib

import pandas as pd
import pytest
from psycopg2.errors import LockNotAvailable

from sparkify import sqlfiles
from sparkify.pipeline import CheckFailed, Session

T0 = dt.datetime(2018, 11, 5, 14, 0, 0, 123000)  # a Monday; milliseconds must survive


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


UA_CHROME = '"Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/36.0 Safari/537.36"'
UA_FIREFOX = "Mozilla/5.0 (Windows NT 6.1; rv:31.0) Gecko/20100101 Firefox/31.0"

# (artist, auth, first, gender, item, last, length, level, location, method, page, registration, session,
#  song, status, ts, user_agent, user_id)
EVENTS = [
    # a logged-out prefix: no user, not a play
    (None, "Logged Out", None, None, 0, None, None, "free", None, "GET", "Home", None, 1, None, 200, at(-60), None,
     None),
    # user 10, Ann: free -> paid -> free
    ("Duo", "Logged In", "Ann", "F", 1, "Lee", 200.0, "free", "Austin, TX", "PUT", "NextSong", 1.5e12, 1,
     "Twin Song", 200, at(0), UA_CHROME, "10"),
    ("Nobody", "Logged In", "Ann", "F", 2, "Lee", 150.5, "free", "Austin, TX", "PUT", "NextSong", 1.5e12, 1,
     "Unknown Song", 200, at(200), UA_CHROME, "10"),
    (None, "Logged In", "Ann", "F", 3, "Lee", None, "free", "Austin, TX", "PUT", "Submit Upgrade", 1.5e12, 1, None,
     307, at(400), UA_CHROME, "10"),
    ("Spacey", "Logged In", "Ann", "F", 4, "Lee", 99.0, "paid", "Austin, TX", "PUT", "NextSong", 1.5e12, 1, "Edge",
     200, at(500), UA_CHROME, "10"),
    (None, "Logged In", "Ann", "F", 5, "Lee", None, "paid", "Austin, TX", "PUT", "Submit Downgrade", 1.5e12, 1,
     None, 307, at(700), UA_CHROME, "10"),
    (None, "Logged In", "Ann", "F", 6, "Lee", None, "free", "Austin, TX", "GET", "Home", 1.5e12, 1, None, 200,
     at(800), UA_CHROME, "10"),
    # user 20, Bob: two plays in the same millisecond (two devices, two sessions)
    ("Equal", "Logged In", "Bob", "M", 0, "Ray", 100.0, "paid", "Reno, NV", "PUT", "NextSong", 1.4e12, 7, "Tie",
     200, at(900), UA_FIREFOX, "20"),
    ("Snoop", "Logged In", "Bob", "M", 0, "Ray", 240.0, "paid", "Reno, NV", "PUT", "NextSong", 1.4e12, 8,
     "Gin And Juice", 200, at(900), UA_FIREFOX, "20"),
    # user 30, Cy: only browsed, never played
    (None, "Logged In", "Cy", "M", 0, "Orr", None, "free", "Troy, NY", "GET", "Home", 1.3e12, 9, None, 200, at(1000),
     UA_FIREFOX, "30"),
]

# (num_songs, artist_id, latitude, longitude, location, artist_name, song_id, title, duration, year)
SONGS = [
    (1, "ARDUO", None, None, None, "Duo", "SOTWIN1", "Twin Song", 180.0, 2001),  # 20 s off
    (1, "ARDUO", None, None, None, "Duo", "SOTWIN2", "Twin Song", 203.25, 2002),  # 3.25 s off: wins
    (1, "ARSPACE", None, None, None, "Spacey", "SOEDGE", "  Edge ", 99.0, 0),  # edge spaces
    (1, "AREQ", None, None, None, "Equal", "SOTIEB", "Tie", 110.0, 1999),  # 10 s off
    (1, "AREQ", None, None, None, "Equal", "SOTIEA", "Tie", 90.0, 1999),  # also 10 s off, lower id: wins
    (1, "ARSNOOP", None, None, None, "Snoop", "SOGIN", "Gin And Juice", 240.12345, 1994),
    (1, "ARSNOOP", 34.05, -118.25, "Los Angeles, CA", "Snoop featuring Kid", "SOFEAT", "Feature", 200.0, 2009),
    (1, "ARSNOOP", None, None, "Long Beach, CA", "Snoop", "SOLB", "Beach", 201.0, 1993),
]


@pytest.fixture
def staged(session):
    conn = session.conn
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO staging_events VALUES (" + ", ".join(["%s"] * 18) + ")", EVENTS)
        cur.executemany("INSERT INTO staging_songs VALUES (" + ", ".join(["%s"] * 10) + ")", SONGS)
    conn.commit()
    return session


def table(session: Session, name: str, order: str) -> list[tuple]:
    with session.conn.cursor() as cur:
        cur.execute(f'SELECT * FROM "{name}" ORDER BY {order}')
        rows = cur.fetchall()
    session.conn.commit()
    return rows


def play_id(ts: dt.datetime, session: int, item: int, user: str) -> int:
    """songplay_id as stage_plays.sql derives it from the event, worked out here independently."""
    key = f"{ts:%Y-%m-%d %H:%M:%S}.{ts.microsecond // 1000:03d}|{session}|{item}|{user}"
    return int(hashlib.md5(key.encode()).hexdigest()[:15], 16)


def test_songplays_exact(staged):
    staged.transform()
    rows = table(staged, "songplays", "start_time, session_id")
    assert rows == [
        (play_id(at(0), 1, 1, "10"), at(0), 10, "free", "SOTWIN2", "ARDUO", 1, "Austin, TX", UA_CHROME),  # closest
        (play_id(at(200), 1, 2, "10"), at(200), 10, "free", None, None, 1, "Austin, TX", UA_CHROME),  # no match: kept
        (play_id(at(500), 1, 4, "10"), at(500), 10, "paid", "SOEDGE", "ARSPACE", 1, "Austin, TX", UA_CHROME),  # trim
        (play_id(at(900), 7, 0, "20"), at(900), 20, "paid", "SOTIEA", "AREQ", 7, "Reno, NV", UA_FIREFOX),  # tie
        (play_id(at(900), 8, 0, "20"), at(900), 20, "paid", "SOGIN", "ARSNOOP", 8, "Reno, NV", UA_FIREFOX),  # same ms
    ]
    assert rows[0][1].microsecond == 123000


def test_users_exact(staged):
    staged.transform()
    assert table(staged, "users", "user_id") == [
        (10, "Ann", "Lee", "F", "free", at(800)),  # free -> paid -> free: the latest level, and its time
        (20, "Bob", "Ray", "M", "paid", at(900)),
        (30, "Cy", "Orr", "M", "free", at(1000)),  # browsed only, still a user
    ]  # the logged-out events add no user


def browse(user: str, session: int, item: int, ts, level: str, first: str = "Dee") -> tuple:
    return (None, "Logged In", first, "F", item, "Fox", None, level, "Troy, NY", "GET", "Home", 1.3e12, session, None,
            200, ts, UA_FIREFOX, user)


def test_users_latest_event_ties_and_missing_times(staged):
    """The latest event by ts, ties broken by session then item (both descending); an event without a
    time never counts as latest, unless the user has no time at all."""
    with staged.conn.cursor() as cur:
        cur.executemany("INSERT INTO staging_events VALUES (" + ", ".join(["%s"] * 18) + ")", [
            browse("40", 3, 1, at(50), "free", "Old"), browse("40", 3, 9, at(2000), "free", "Tie"),
            browse("40", 4, 0, at(2000), "paid", "Win"),  # same ts: the later session wins
            browse("50", 1, 2, None, "paid", "Early"), browse("50", 1, 5, None, "free", "Late"),  # no time at all
            browse("60", 9, 9, None, "paid", "NoTime"), browse("60", 1, 1, at(5), "free", "Timed"),
        ])
    staged.conn.commit()
    staged.transform()
    users = {row[0]: row for row in table(staged, "users", "user_id")}
    assert users[40] == (40, "Win", "Fox", "F", "paid", at(2000))
    assert users[50] == (50, "Late", "Fox", "F", "free", None)
    assert users[60] == (60, "Timed", "Fox", "F", "free", at(5))


def test_songs_artists_time_exact(staged):
    staged.transform()
    songs = table(staged, "songs", "song_id")
    # trailing blanks dropped (Redshift ignores them when comparing), leading ones kept
    assert len(songs) == len(SONGS) and ("SOEDGE", "  Edge", "ARSPACE", 0, 99.0) in songs
    assert ("SOGIN", "Gin And Juice", "ARSNOOP", 1994, 240.12345) in songs  # precision kept
    assert table(staged, "artists", "artist_id") == [
        ("ARDUO", "Duo", None, None, None),
        ("AREQ", "Equal", None, None, None),
        ("ARSNOOP", "Snoop", "Los Angeles, CA", 34.05, -118.25),  # most used name; place from the song with coordinates
        ("ARSPACE", "Spacey", None, None, None),
    ]
    assert table(staged, "time", "start_time") == [
        (at(0), 14, 5, 45, 11, 2018, 1),
        (at(200), 14, 5, 45, 11, 2018, 1),
        (at(500), 14, 5, 45, 11, 2018, 1),
        (at(900), 14, 5, 45, 11, 2018, 1),  # one row for the two plays of the same millisecond
    ]


def dump(session: Session) -> dict[str, list]:
    keys = {"songplays": "songplay_id", "users": "user_id", "songs": "song_id", "artists": "artist_id",
            "time": "start_time"}
    return {name: table(session, name, key) for name, key in keys.items()}


def test_transform_is_idempotent(staged):
    staged.transform()
    first = dump(staged)
    rows = {table: len(first[table]) for table in first}
    assert staged.changes == {table: {"added": n, "updated": 0} for table, n in rows.items()}
    staged.transform()
    assert dump(staged) == first
    assert staged.changes == {table: {"added": 0, "updated": n} for table, n in rows.items()}  # all replaced


def test_a_failed_check_rolls_the_step_back(staged):
    staged.transform()
    before = dump(staged)
    with staged.conn.cursor() as cur:
        cur.execute("UPDATE staging_events SET level = 'gold' WHERE user_id = '30'")
    staged.conn.commit()
    with pytest.raises(CheckFailed) as failed:
        staged.transform()
    assert "users_level_accepted" in str(failed.value) and "gold" in str(failed.value)
    assert dump(staged) == before


def test_a_full_load_never_waits_forever_for_a_session_holding_a_table(staged, monkeypatch):
    """Locally a full load empties the star tables with TRUNCATE, which waits for a session that holds
    one of them; past the lock timeout it fails, and the star schema stays as it was."""
    from sparkify.backends import local

    staged.transform()
    before = dump(staged)
    monkeypatch.setattr(local, "LOCK_TIMEOUT", "1s")
    reader = staged.backend.connect()
    with reader.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM songplays")  # its transaction stays open: the table is held
        with pytest.raises(LockNotAvailable, match="lock timeout"):
            staged.transform()
    reader.rollback()
    reader.close()
    assert dump(staged) == before
    staged.transform()  # and with the reader gone, it runs
    assert dump(staged) == before


CORRUPTIONS = {
    "songplays_primary_key": "UPDATE songplays SET songplay_id = (SELECT MIN(songplay_id) FROM songplays) "
                             "WHERE songplay_id = (SELECT MAX(songplay_id) FROM songplays)",
    "users_primary_key": "INSERT INTO users SELECT * FROM users WHERE user_id = 10",
    "songs_primary_key": "INSERT INTO songs SELECT * FROM songs WHERE song_id = 'SOGIN'",
    "artists_primary_key": "INSERT INTO artists SELECT * FROM artists WHERE artist_id = 'ARDUO'",
    "time_primary_key": 'INSERT INTO "time" SELECT * FROM "time" '
                        'WHERE start_time = (SELECT MIN(start_time) FROM "time")',
    "songplays_user_in_users": "UPDATE songplays SET user_id = 999 WHERE song_id = 'SOGIN'",
    "songplays_start_time_in_time": "UPDATE songplays SET start_time = start_time + INTERVAL '1 hour' "
                                    "WHERE song_id = 'SOGIN'",
    "songplays_song_in_songs": "UPDATE songplays SET song_id = 'SONOPE' WHERE song_id = 'SOGIN'",
    "songplays_artist_in_artists": "UPDATE songplays SET artist_id = 'ARNOPE' WHERE song_id IS NULL",
    "songplays_level_accepted": "UPDATE songplays SET level = 'gold' WHERE song_id = 'SOGIN'",
    "users_level_accepted": "UPDATE users SET level = 'premium' WHERE user_id = 10",
    "users_gender_accepted": "UPDATE users SET gender = 'X' WHERE user_id = 10",
    "time_hour_range": 'UPDATE "time" SET hour = 24 WHERE start_time = (SELECT MIN(start_time) FROM "time")',
    "time_weekday_range": 'UPDATE "time" SET weekday = 7 WHERE start_time = (SELECT MIN(start_time) FROM "time")',
    "songplays_reconcile_nextsong": "DELETE FROM songplays WHERE song_id IS NULL",
    "songs_artist_in_artists": "UPDATE songs SET artist_id = 'ARNOPE' WHERE song_id = 'SOLB'",
    "songplays_song_artist_agree": "UPDATE songplays SET artist_id = 'ARSNOOP' WHERE song_id = 'SOTWIN2'",
    "songs_reconcile_staged": "DELETE FROM songs WHERE song_id = 'SOLB'",
    "artists_reconcile_staged": "INSERT INTO staging_songs (num_songs, artist_id, artist_name, title) "
                                "VALUES (1, 'ARNEW', 'New', 'No Song Id')",
    "load_log_primary_key": "INSERT INTO load_log SELECT day, files, rows_read, rows_loaded, rows_rejected, 0, "
                            "loaded_at FROM load_log",
    "users_reconcile_staged": "DELETE FROM users WHERE user_id = 30",
}


def test_every_check_has_a_corruption():
    assert set(CORRUPTIONS) == {name for f in sqlfiles.folder("checks") for name, _ in f.checks}


def test_checks_of_one_pass_fail_each_with_their_own_rows(staged):
    """songplays_per_play.sql holds five checks, each a column: two broken at once fail each with the
    plays that break it, its sample without the other checks' columns."""
    staged.transform()
    with staged.conn.cursor() as cur:
        cur.execute("UPDATE songplays SET level = 'gold' WHERE song_id = 'SOGIN'")
        cur.execute("UPDATE songplays SET user_id = 999 WHERE song_id IN ('SOGIN', 'SOEDGE')")
    staged.conn.commit()
    results = staged.run_checks(raise_on_failure=False).set_index("check")
    assert results.loc[["songplays_level_accepted", "songplays_user_in_users"], "failing_rows"].tolist() == [1, 2]
    assert set(results.index[results["status"] == "fail"]) == {"songplays_level_accepted", "songplays_user_in_users"}
    assert list(results.index) == sorted(results.index)
    with pytest.raises(CheckFailed) as failed:
        staged.run_checks()
    message = str(failed.value)
    assert "2 data-quality check(s) failed: songplays_level_accepted, songplays_user_in_users" in message
    assert "gold" in message and "999" in message and "songplays_song_in_songs" not in message


def test_a_failed_checks_sample_is_its_first_rows_by_value_whatever_order_the_engine_returns(staged):
    """Parallel plans return a check's rows in an order that varies between runs; the sample does not."""
    staged.transform()
    with staged.conn.cursor() as cur:  # eight bad users, stored (and scanned) from the highest id down
        cur.execute("INSERT INTO users (user_id, first_name, last_name, gender, level) "
                    "SELECT 108 - n, 'Ann', 'Lee', 'F', 'premium' FROM generate_series(0, 7) AS n ORDER BY n")
    staged.conn.commit()
    with pytest.raises(CheckFailed) as failed:
        staged.run_checks()
    sample = str(failed.value).split("- users_level_accepted (8 row(s)); sample:", 1)[1].splitlines()[2:7]
    assert [int(line.split()[0]) for line in sample] == [101, 102, 103, 104, 105]


@pytest.mark.parametrize("check", sorted(CORRUPTIONS))
def test_each_check_fails_alone_on_its_corruption(staged, check):
    staged.transform()
    assert set(staged.run_checks()["status"]) == {"pass"}
    with staged.conn.cursor() as cur:
        cur.execute(CORRUPTIONS[check])
    staged.conn.commit()
    results = staged.run_checks(raise_on_failure=False)
    failed = results[results["status"] == "fail"]
    assert list(failed["check"]) == [check]
    assert int(failed["failing_rows"].iloc[0]) >= 1
    with pytest.raises(CheckFailed, match=check):
        staged.run_checks()


@pytest.mark.slow
def test_generated_lake_counts_agree_with_the_generator(warehouse, make_config, udacity_lake):
    lake, manifest = udacity_lake
    with Session(make_config(lake)) as s:
        s.create_tables()
        events = s.stage("staging_events", progress=False)
        songs = s.stage("staging_songs", progress=False)
        assert (events.files, events.records_read, events.rows_loaded, events.rows_rejected) == \
            (manifest["log_files"], manifest["events"], manifest["events"], 0)
        assert (songs.files, songs.rows_loaded, songs.rows_rejected) == (manifest["song_files"],) * 2 + (0,)
        first = s.table_counts()
        s.stage("staging_events", progress=False)  # re-staging gives the same contents
        assert s.table_counts().equals(first)
        checks = s.transform()
        assert set(checks["status"]) == {"pass"}
        counts = dict(zip(*s.table_counts().values.T, strict=True))
        assert counts["songplays"] == manifest["nextsong_events"]
        assert counts["users"] == manifest["identified_users"]
        assert counts["songs"] == manifest["song_files"]
        assert counts["artists"] == manifest["artists"]
        assert counts["time"] <= counts["songplays"]
        assert s.resolved_songplays()["resolved_songplays"] == manifest["resolvable_plays"]
        assert isinstance(s.analysis("most_played_song"), pd.DataFrame)
