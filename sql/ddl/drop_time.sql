-- Drop table time (and everything in it); used before re-creating it.
DROP TABLE IF EXISTS "time";
