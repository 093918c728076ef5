"""Every query of sql/analysis/ on a star schema built by hand, whose answers are worked out by hand
below: a three-way tie for the most played song, one title by two artists, plays at the hours
window's lower edge and one second before it, hours and a day without plays, and user agents of
every browser family plus an empty and a missing one. Each query runs through the project's own
Session (so through the Redshift-to-PostgreSQL translation) on the local backend."""

from __future__ import annotations

import datetime as dt

import pytest

from sparkify import dialect, sqlfiles
from sparkify.pipeline import Session

UA = {
    "chrome": '"Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) '
              'Chrome/36.0.1985.143 Safari/537.36"',
    "firefox": "Mozilla/5.0 (Windows NT 6.1; rv:31.0) Gecko/20100101 Firefox/31.0",
    "safari": '"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.77.4 (KHTML, like Gecko) '
              'Version/7.0.5 Safari/537.77.4"',
    "iphone": '"Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 '
              '(KHTML, like Gecko) Version/7.0 Mobile/11D257 Safari/9537.53"',
    "ie": "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; WOW64; Trident/6.0)",
    "edge": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/42.0.2311.135 Safari/537.36 Edge/12.246",
    "empty": "",
    "none": None,
}

# artist_id, name
ARTISTS = [("AR1", "Alpha"), ("AR2", "Beta"), ("AR3", "Aardvark")]
# song_id, title, artist_id: "Home" by two artists; two catalog versions of Alpha's "Home"
SONGS = [("SO1", "Home", "AR1"), ("SO4", "Home", "AR1"), ("SO2", "Home", "AR2"), ("SO3", "Zed", "AR3"),
         ("SO5", "Ballad", "AR1")]
LAST = dt.datetime(2018, 11, 30, 16, 30)
EDGE = LAST - dt.timedelta(days=6)  # 2018-11-24 16:30:00, the brief's window starts here (included)

# songplay_id, start_time, user_id, level, song_id, user agent. No play on 2018-11-27.
PLAYS = [
    (1, dt.datetime(2018, 11, 20, 10, 0), 10, "free", "SO1", "chrome"),  # long before the window
    (2, EDGE - dt.timedelta(seconds=1), 10, "free", "SO1", "firefox"),  # one second before: out
    (3, EDGE, 10, "free", "SO4", "chrome"),  # exactly at the lower edge: in
    (4, dt.datetime(2018, 11, 25, 9, 0), 20, "paid", "SO2", "chrome"),
    (5, dt.datetime(2018, 11, 25, 9, 15), 20, "paid", "SO2", "chrome"),
    (6, dt.datetime(2018, 11, 25, 23, 59, 59), 20, "paid", "SO2", "iphone"),
    (7, dt.datetime(2018, 11, 26, 0, 0), 20, "paid", "SO3", "iphone"),
    (8, dt.datetime(2018, 11, 26, 9, 30), 30, "paid", "SO3", "safari"),
    (9, dt.datetime(2018, 11, 28, 16, 0), 30, "paid", "SO3", "ie"),
    (10, dt.datetime(2018, 11, 28, 16, 5), 30, "paid", "SO5", "edge"),
    (11, dt.datetime(2018, 11, 29, 23, 10), 40, "free", None, "empty"),  # not in the catalog
    (12, LAST, 40, "free", None, "none"),  # the last play, not in the catalog
]

HOURS_IN_WINDOW = {0: 1, 9: 3, 16: 4, 23: 2}  # plays 3..12; play 2 (16:29:59) is out

# query name -> (parameters, expected rows in order)
EXPECTED: dict[str, tuple[dict, list[tuple]]] = {
    # three songs tie at 3 plays: checked separately (the brief's LIMIT 1 has no tie-break)
    "most_played_song": ({}, [("Home", "Alpha", 3), ("Home", "Beta", 3), ("Zed", "Aardvark", 3)]),
    "top_songs": ({"top_n": 10}, [("Home", "Alpha", 3), ("Home", "Beta", 3), ("Zed", "Aardvark", 3),
                                  ("Ballad", "Alpha", 1)]),
    "top_artists": ({"top_n": 10}, [("Alpha", 4), ("Aardvark", 3), ("Beta", 3)]),
    "most_used_hours_last_7_days": ({}, [(16, 4), (9, 3), (23, 2), (0, 1)]),
    "most_used_hours_window": ({}, [(EDGE, LAST, 10)]),
    "plays_by_hour_last_7_days": ({}, [(h, HOURS_IN_WINDOW.get(h, 0)) for h in range(24)]),
    "plays_by_hour": ({}, [(0, 1), (9, 3), (10, 1), (16, 5), (23, 2)]),
    # Chrome, Edge and Safari say "Safari"; Firefox, IE and "" give ""; iPhone says "Mobile"; NULL is 4th
    "web_browsers": ({}, [("Safari", 6), ("", 3), ("Mobile", 2)]),
    "plays_by_browser_family": ({}, [("Chrome", 4, 2), ("Safari", 3, 2), ("Other", 2, 1), ("Edge", 1, 1),
                                     ("Firefox", 1, 1), ("Internet Explorer", 1, 1)]),
    "plays_per_day": ({}, [(dt.date(2018, 11, 20), 1), (dt.date(2018, 11, 24), 2), (dt.date(2018, 11, 25), 3),
                           (dt.date(2018, 11, 26), 2), (dt.date(2018, 11, 28), 2), (dt.date(2018, 11, 29), 1),
                           (dt.date(2018, 11, 30), 1)]),
    "plays_by_level": ({}, [("paid", 7, 2), ("free", 5, 2)]),
    # the day without plays; its 7 days (11-21 to 11-27) hold plays 2 to 8; all time, every play
    "plays_in_context": ({"day": "2018-11-27"}, [
        ("that day", dt.date(2018, 11, 27), dt.date(2018, 11, 27), 0, 0, 0),
        ("7 days to that day", dt.date(2018, 11, 21), dt.date(2018, 11, 27), 7, 3, 7),
        ("all time", dt.date(2018, 11, 20), dt.date(2018, 11, 30), 12, 4, 10)]),
}


def load_star_schema(session: Session) -> None:
    """Insert the rows above into the five star tables (as PostgreSQL: this is test data, not a step)."""
    by_id = {song_id: artist_id for song_id, _, artist_id in SONGS}
    plays = [(pid, ts, user, level, song, by_id.get(song), 100 + user, "Somewhere, ST", UA[ua])
             for pid, ts, user, level, song, ua in PLAYS]
    times = {ts: (ts, ts.hour, ts.day, ts.isocalendar()[1], ts.month, ts.year, ts.isoweekday() % 7)
             for _, ts, *_ in PLAYS}
    users = {user: (user, f"U{user}", "Test", "F", level) for _, _, user, level, *_ in PLAYS}
    with session.conn.cursor() as cur:
        cur.executemany("INSERT INTO artists (artist_id, name) VALUES (%s, %s)", ARTISTS)
        cur.executemany("INSERT INTO songs (song_id, title, artist_id, year, duration) VALUES (%s, %s, %s, 2000, 200)",
                        SONGS)
        cur.executemany("INSERT INTO songplays VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", plays)
        cur.executemany('INSERT INTO "time" VALUES (%s, %s, %s, %s, %s, %s, %s)', list(times.values()))
        cur.executemany("INSERT INTO users VALUES (%s, %s, %s, %s, %s)", list(users.values()))
    session.conn.commit()


@pytest.fixture
def star(session):
    load_star_schema(session)
    return session


def rows(df) -> list[tuple]:
    return [tuple(row) for row in df.itertuples(index=False, name=None)]


def test_every_analysis_query_has_an_expected_answer():
    """A new file in sql/analysis/ fails here until its answer on the fixture is written out above."""
    assert set(EXPECTED) == {f.stem for f in sqlfiles.folder("analysis")}


def test_the_fixture_is_a_valid_star_schema(star):
    results = star.run_checks(raise_on_failure=False).set_index("check")["status"]
    # the reconciliation checks compare with staging, which this fixture leaves empty
    assert set(results.drop(["songplays_reconcile_nextsong", "users_reconcile_staged"])) == {"pass"}


@pytest.mark.parametrize("name", sorted(set(EXPECTED) - {"most_played_song"}))
def test_query_gives_the_worked_out_answer(star, name):
    params, expected = EXPECTED[name]
    result = star.analysis(name, **params)
    assert rows(result) == expected


def test_query_columns_are_the_briefs():
    """The brief's output columns, and the columns the notebook and charts read."""
    columns = {"most_played_song": ["title", "name", "play_count"],
               "most_used_hours_last_7_days": ["hour", "play_count"],
               "web_browsers": ["web_browser", "num_event"],
               "top_songs": ["title", "artist", "play_count"],
               "most_used_hours_window": ["window_start", "window_end", "play_count"],
               "plays_by_hour_last_7_days": ["hour", "play_count"]}
    for name, expected in columns.items():
        tree = dialect.parse_redshift(sqlfiles.load(f"analysis/{name}").render({"top_n": 1}), name)
        assert tree.named_selects == expected, name


def test_columns_of_the_briefs_queries_on_the_warehouse(star):
    assert list(star.analysis("most_played_song").columns) == ["title", "name", "play_count"]
    assert list(star.analysis("most_used_hours_last_7_days").columns) == ["hour", "play_count"]
    assert list(star.analysis("web_browsers").columns) == ["web_browser", "num_event"]


def test_most_played_song_on_a_tie_is_one_of_the_tied_top_songs(star):
    (row,) = rows(star.analysis("most_played_song"))
    top = rows(star.analysis("top_songs", top_n=10))
    tied = [song for song in top if song[2] == top[0][2]]
    assert len(tied) == 3 and row in tied


def test_most_played_song_is_the_first_top_song(star):
    """Without a tie the brief's answer and the first row of top_songs are the same song and count."""
    with star.conn.cursor() as cur:  # one more play of Zed breaks the tie
        cur.execute("INSERT INTO songplays SELECT 13, start_time, user_id, level, song_id, artist_id, session_id, "
                    "location, user_agent FROM songplays WHERE songplay_id = 9")
    star.conn.commit()
    assert rows(star.analysis("most_played_song")) == [("Zed", "Aardvark", 4)]
    assert rows(star.analysis("top_songs", top_n=1)) == [("Zed", "Aardvark", 4)]
    assert rows(star.analysis("top_artists", top_n=1)) == [("Aardvark", 4)]


def test_top_n_limits_after_the_tie_order(star):
    assert rows(star.analysis("top_songs", top_n=2)) == [("Home", "Alpha", 3), ("Home", "Beta", 3)]
    assert rows(star.analysis("top_artists", top_n=1)) == [("Alpha", 4)]


def test_hours_chart_query_agrees_with_the_briefs_answer(star):
    """Each hour of the brief's top five has the same count in the 24-hour query of the same window,
    and the 24 hours add up to the window's plays."""
    brief = dict(rows(star.analysis("most_used_hours_last_7_days")))
    hours = dict(rows(star.analysis("plays_by_hour_last_7_days")))
    (_, _, in_window), = rows(star.analysis("most_used_hours_window"))
    assert all(hours[h] == n for h, n in brief.items())
    assert sum(hours.values()) == in_window


def test_the_window_moves_with_the_last_play(star):
    """One more play a second later moves the lower edge past play 3: the window is 6 x 24 hours
    ending at the last play, not calendar days."""
    with star.conn.cursor() as cur:
        cur.execute("INSERT INTO songplays (songplay_id, start_time, user_id, level) VALUES (14, %s, 40, 'free')",
                    (LAST + dt.timedelta(seconds=1),))
        cur.execute('INSERT INTO "time" VALUES (%s, 16, 30, 48, 11, 2018, 5)', (LAST + dt.timedelta(seconds=1),))
    star.conn.commit()
    assert rows(star.analysis("most_used_hours_window")) == [(EDGE + dt.timedelta(seconds=1),
                                                              LAST + dt.timedelta(seconds=1), 10)]
    assert rows(star.analysis("most_used_hours_last_7_days"))[0] == (16, 4)  # play 3 out, play 14 in


def test_empty_star_schema(session):
    assert rows(session.analysis("most_used_hours_window")) == [(None, None, 0)]
    assert rows(session.analysis("plays_by_hour_last_7_days")) == [(h, 0) for h in range(24)]
    assert session.analysis("most_played_song").empty and session.analysis("web_browsers").empty
    assert session.analysis("plays_by_browser_family").empty and session.analysis("plays_by_level").empty
    day = dt.date(2018, 11, 27)
    assert rows(session.analysis("plays_in_context", day=day.isoformat())) == [
        ("that day", day, day, 0, 0, 0), ("7 days to that day", day - dt.timedelta(days=6), day, 0, 0, 0),
        ("all time", None, None, 0, 0, 0)]


def test_matched_share(star):
    """The song and artist rankings count matched plays only: 10 of the 12 plays here."""
    assert star.resolved_songplays() == {"songplays": 12, "resolved_songplays": 10}
    assert sum(n for *_, n in EXPECTED["top_songs"][1]) == 10


def test_briefs_constructs_translate_with_their_semantics():
    hours = dialect.to_postgres(sqlfiles.load("analysis/most_used_hours_last_7_days").text)
    assert "CAST(last_date AS TIMESTAMP)" in hours and "+ INTERVAL '-6 DAY'" in hours
    assert "BETWEEN start_date AND last_date" in hours and hours.endswith("LIMIT 5")
    browsers = dialect.to_postgres(sqlfiles.load("analysis/web_browsers").text)
    assert "DISTINCT (SPLIT_PART(SPLIT_PART(user_agent, '/', 4), ' ', 2)) AS web_browser" in browsers
    assert browsers.endswith("GROUP BY web_browser ORDER BY num_event DESC LIMIT 3")
