-- The row-by-row reference loader (bench only): its songs table.
CREATE TABLE rbr_songs (
    song_id VARCHAR PRIMARY KEY,
    title VARCHAR,
    artist_id VARCHAR,
    year INTEGER,
    duration DOUBLE PRECISION
);
