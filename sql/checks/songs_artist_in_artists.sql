-- Check: every songs.artist_id names a row of artists.
-- Returns the orphaned songs; zero rows = pass.
SELECT
    s.song_id,
    s.artist_id
FROM songs AS s
LEFT JOIN artists AS a ON s.artist_id = a.artist_id
WHERE s.artist_id IS NOT NULL AND a.artist_id IS NULL;
