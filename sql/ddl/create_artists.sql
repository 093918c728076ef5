-- artists (dimension): one row per artist_id of the catalog (attributes chosen by the rule in
-- sql/transform/artists.sql).
-- Dist/sort: about ten thousand rows, so DISTSTYLE ALL; SORTKEY(artist_id) for the join.
-- location is wide (some catalog locations exceed 256 characters); coordinates keep precision.
CREATE TABLE IF NOT EXISTS artists (
    artist_id VARCHAR(32) NOT NULL,
    name VARCHAR(512),
    location VARCHAR(4096),
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    PRIMARY KEY (artist_id)
)
DISTSTYLE ALL
SORTKEY (artist_id);
