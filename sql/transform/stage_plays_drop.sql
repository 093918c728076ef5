-- Drop this session's stage_plays (see stage_plays.sql) if an earlier transform left it.
DROP TABLE IF EXISTS stage_plays;
