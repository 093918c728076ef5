-- Check: every song_id of the staged catalog is in songs: none missing.
-- Returns the missing song ids; zero rows = pass.
SELECT DISTINCT s.song_id
FROM staging_songs AS s
LEFT JOIN songs AS so ON s.song_id = so.song_id
WHERE s.song_id IS NOT NULL AND so.song_id IS NULL;
