-- Check: artists.artist_id is unique and not null (Redshift does not enforce primary keys).
-- Returns each offending key with how often it occurs; zero rows = pass.
SELECT
    artist_id,
    COUNT(*) AS occurrences
FROM artists
GROUP BY artist_id
HAVING COUNT(*) > 1 OR artist_id IS NULL;
