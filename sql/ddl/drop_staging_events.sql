-- Drop table staging_events (and everything in it); used before re-creating it.
DROP TABLE IF EXISTS staging_events;
