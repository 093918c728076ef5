-- Drop table songs (and everything in it); used before re-creating it.
DROP TABLE IF EXISTS songs;
