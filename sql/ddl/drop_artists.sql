-- Drop table artists (and everything in it); used before re-creating it.
DROP TABLE IF EXISTS artists;
