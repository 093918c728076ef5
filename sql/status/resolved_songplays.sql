-- How many plays were matched to a catalog song, out of all plays.
-- Columns: songplays, resolved_songplays.
SELECT
    COUNT(*) AS songplays,
    COUNT(song_id) AS resolved_songplays
FROM songplays;
