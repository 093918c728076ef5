-- Drop table load_log (the record of loaded days); used before re-creating it.
DROP TABLE IF EXISTS load_log;
