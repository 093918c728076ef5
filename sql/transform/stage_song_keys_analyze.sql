-- Statistics for the catalog's match keys (a temporary table has none until analysed), so that the
-- planner sizes the match of plays to songs right.
ANALYZE stage_song_keys;
