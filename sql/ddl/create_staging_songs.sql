-- staging_songs: the song catalog exactly as COPY reads it (one row per song file).
-- Column names are the JSON keys in lower case, so FORMAT AS JSON 'auto' maps them by name.
-- Dist/sort: DISTSTYLE AUTO, since the catalog is small (tens of thousands of rows) and Redshift keeps
-- it ALL (a copy per node, so joining the EVEN events moves nothing) while it stays small; no sort key,
-- since the match join compares TRIM(...) values that a sort order cannot serve.
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
DISTSTYLE AUTO;
