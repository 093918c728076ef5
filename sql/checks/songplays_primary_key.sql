-- Check: songplays.songplay_id is unique and not null (Redshift does not enforce primary keys).
-- Returns each offending key with how often it occurs; zero rows = pass.
SELECT
    songplay_id,
    COUNT(*) AS occurrences
FROM songplays
GROUP BY songplay_id
HAVING COUNT(*) > 1 OR songplay_id IS NULL;
