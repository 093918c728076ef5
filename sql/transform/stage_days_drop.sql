-- Drop this session's stage_days (see stage_days.sql) if an earlier transform left it.
DROP TABLE IF EXISTS stage_days;
