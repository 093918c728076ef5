-- Check: every non-null songplays.artist_id names a row of artists.
-- Returns the orphaned plays; zero rows = pass.
SELECT
    sp.songplay_id,
    sp.artist_id
FROM songplays AS sp
LEFT JOIN artists AS a ON sp.artist_id = a.artist_id
WHERE sp.artist_id IS NOT NULL AND a.artist_id IS NULL;
