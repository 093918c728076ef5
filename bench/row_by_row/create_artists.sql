-- The row-by-row reference loader (bench only): its artists table.
CREATE TABLE rbr_artists (
    artist_id VARCHAR PRIMARY KEY,
    name VARCHAR,
    location VARCHAR,
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION
);
