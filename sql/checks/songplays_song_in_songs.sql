-- Check: every non-null songplays.song_id names a row of songs.
-- Returns the orphaned plays; zero rows = pass.
SELECT
    sp.songplay_id,
    sp.song_id
FROM songplays AS sp
LEFT JOIN songs AS s ON sp.song_id = s.song_id
WHERE sp.song_id IS NOT NULL AND s.song_id IS NULL;
