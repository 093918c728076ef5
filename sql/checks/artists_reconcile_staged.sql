-- Check: every artist_id of the staged catalog is in artists: none missing.
-- Returns the missing artist ids; zero rows = pass.
SELECT DISTINCT s.artist_id
FROM staging_songs AS s
LEFT JOIN artists AS a ON s.artist_id = a.artist_id
WHERE s.artist_id IS NOT NULL AND a.artist_id IS NULL;
