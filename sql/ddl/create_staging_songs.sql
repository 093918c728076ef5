-- staging_songs: the song catalog exactly as COPY reads it (one row per song file).
-- Column names are the JSON keys in lower case, so FORMAT AS JSON 'auto' maps them by name.
-- Physical design: DISTKEY(title) co-locates catalog rows with the log events that name the same
-- song (staging_events is DISTKEY(song)); SORTKEY(artist_name, title) serves the match join.
-- Types: coordinates and duration keep full precision (DOUBLE PRECISION, never NUMERIC without a
-- scale, which Redshift rounds to an integer); artist_location is wide because a few catalog
-- locations are HTML fragments longer than 256 characters.
CREATE TABLE IF NOT EXISTS staging_songs (
    num_songs INTEGER,
    artist_id VARCHAR(32),
    artist_latitude DOUBLE PRECISION,
    artist_longitude DOUBLE PRECISION,
    artist_location VARCHAR(4096),
    artist_name VARCHAR(512),
    song_id VARCHAR(32),
    title VARCHAR(512),
    duration DOUBLE PRECISION,
    year SMALLINT
)
DISTSTYLE KEY
DISTKEY (title)
SORTKEY (artist_name, title);
