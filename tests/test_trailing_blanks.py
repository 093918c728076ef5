"""Redshift ignores trailing blanks when it compares VARCHARs ('X' = 'X '), so GROUP BY, PARTITION BY,
DISTINCT and IN merge values that PostgreSQL keeps apart. A fixture with 'X' and 'X ' runs the
affected SQL on the local backend and expects Redshift's answer."""

from __future__ import annotations

import datetime as dt

from sparkify.dialect import to_postgres

EVENT = ("INSERT INTO staging_events (artist, auth, first_name, gender, item_in_session, last_name, length, level, "
         "location, method, page, registration, session_id, song, status, ts, user_agent, user_id) VALUES "
         "(%(artist)s, 'Logged In', 'Ann', %(gender)s, %(item)s, 'Lee', 200.0, %(level)s, 'Here', 'PUT', "
         "'NextSong', 1.0, 1, %(song)s, 200, %(ts)s, 'Mozilla/5.0', %(user_id)s)")
SONG = ("INSERT INTO staging_songs (num_songs, artist_id, artist_latitude, artist_longitude, artist_location, "
        "artist_name, song_id, title, duration, year) VALUES "
        "(1, %(artist_id)s, NULL, NULL, NULL, %(artist_name)s, %(song_id)s, %(title)s, 200.0, 2000)")


def test_the_local_backend_gives_redshifts_answers_on_trailing_blanks(session):
    songs = [  # artist AR1: "Band" on one song, "Band " on another, "Band feat. Y" on two
        ("AR1", "Band", "S1", "Song"), ("AR1", "Band ", "S2", "Song "),
        ("AR1", "Band feat. Y", "S3", "Other"), ("AR1", "Band feat. Y", "S4", "Fourth")]
    plays = [("Band", "Song")] * 2 + [("Band ", "Song ")] * 2 + [("Band feat. Y", "Other")] * 3
    start = dt.datetime(2018, 11, 30, 12, 0)
    with session.conn.cursor() as cur:
        for artist_id, name, song_id, title in songs:
            cur.execute(to_postgres(SONG), {"artist_id": artist_id, "artist_name": name, "song_id": song_id,
                                            "title": title})
        for i, (artist, song) in enumerate(plays):
            cur.execute(to_postgres(EVENT), {"artist": artist, "song": song, "item": i, "ts": start + dt.timedelta(
                minutes=i), "user_id": "5" if i % 2 else "5 ", "level": "free" if i % 2 else "free ",
                "gender": "F" if i % 2 else "F "})
    session.conn.commit()
    checks = session.transform()  # every check passes, as it would on Redshift ('free ' IN ('free', 'paid'))
    assert set(checks["status"]) == {"pass"}

    # artist name vote: Redshift counts "Band" and "Band " as one name with 2 votes, tied with
    # "Band feat. Y" (2), and the shorter wins; PostgreSQL alone would have picked "Band feat. Y"
    assert session.query("status/table_row_counts").set_index("table_name")["row_count"]["artists"] == 1
    name = session.conn.cursor()
    name.execute("SELECT name FROM artists")
    assert name.fetchall() == [("Band",)]
    # the brief's most played song (GROUP BY s.title, verbatim): "Song" and "Song " are one title with
    # 4 plays on Redshift; PostgreSQL alone would have said "Other" (3)
    top = session.analysis("most_played_song")
    assert top.iloc[0]["title"] == "Song" and int(top.iloc[0]["play_count"]) == 4
    # one user, "5" and "5 " being one user_id; one level
    users = session.conn.cursor()
    users.execute("SELECT user_id, level, gender FROM users")
    assert users.fetchall() == [(5, "free", "F")]
    levels = session.analysis("plays_by_level")
    assert list(levels["level"]) == ["free"] and int(levels.iloc[0]["play_count"]) == len(plays)
