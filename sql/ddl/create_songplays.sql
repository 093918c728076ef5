-- songplays (fact): one row for every NextSong event; song_id/artist_id are NULL when the song is
-- not in the catalog.
-- Dist/sort: DISTKEY(start_time) co-locates each play with its time row (the largest join of the
-- analysis queries; start_time is nearly unique, so no slice is skewed); SORTKEY(start_time) lets
-- date-range filters skip blocks (the analysis' days and windows, a daily merge's lookup of the plays
-- it replaces; locally a BRIN index on start_time stands in for the zone maps: sparkify/dialect.py).
-- songs, artists and users are small and DISTSTYLE ALL, so joins to them never move data.
-- songplay_id is derived from the event by the transform (sql/transform/stage_plays.sql), not an
-- IDENTITY column, so a full load and daily loads in any order give identical table contents.
CREATE TABLE IF NOT EXISTS songplays (
    songplay_id BIGINT NOT NULL,
    start_time TIMESTAMP NOT NULL,
    user_id INTEGER,
    level VARCHAR(16),
    song_id VARCHAR(32),
    artist_id VARCHAR(32),
    session_id INTEGER,
    location VARCHAR(512),
    user_agent VARCHAR(1024),
    PRIMARY KEY (songplay_id)
)
DISTSTYLE KEY
DISTKEY (start_time)
SORTKEY (start_time);
