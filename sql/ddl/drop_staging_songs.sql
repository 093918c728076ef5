-- Drop table staging_songs (and everything in it); used before re-creating it.
DROP TABLE IF EXISTS staging_songs;
