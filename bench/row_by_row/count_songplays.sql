-- The row-by-row reference loader (bench only): the plays it loaded.
SELECT COUNT(*) FROM rbr_songplays;
