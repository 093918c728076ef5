-- songs (dimension): one row per song_id of the catalog.
-- Dist/sort: tens of thousands of rows at most, so DISTSTYLE ALL; SORTKEY(song_id) for the
-- join from songplays. duration keeps full precision (DOUBLE PRECISION).
CREATE TABLE IF NOT EXISTS songs (
    song_id VARCHAR(32) NOT NULL,
    title VARCHAR(512),
    artist_id VARCHAR(32),
    year SMALLINT,
    duration DOUBLE PRECISION,
    PRIMARY KEY (song_id)
)
DISTSTYLE ALL
SORTKEY (song_id);
