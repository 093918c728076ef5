-- Check: songs.song_id is unique and not null (Redshift does not enforce primary keys).
-- Returns each offending key with how often it occurs; zero rows = pass.
SELECT
    song_id,
    COUNT(*) AS occurrences
FROM songs
GROUP BY song_id
HAVING COUNT(*) > 1 OR song_id IS NULL;
