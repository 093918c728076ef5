-- Statistics for the staged plays (a temporary table has none until analysed): without them the
-- planner guesses a few thousand rows and picks sorts and merge joins that spill; with them it
-- hashes the catalog and the star tables and streams the plays through.
ANALYZE stage_plays;
