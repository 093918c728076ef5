-- Check: songplays.songplay_id is unique and not null (Redshift does not enforce primary keys).
-- Returns each offending key with how often it occurs; zero rows = pass.
-- The keys are counted first: COUNT(*) equals COUNT(DISTINCT songplay_id) exactly when every key is
-- set and none repeats (one sort of plain BIGINTs, no group per key). Only when they differ are the
-- rows grouped by key to name the offenders.
SELECT
    songplay_id,
    COUNT(*) AS occurrences
FROM songplays
WHERE (SELECT COUNT(*) - COUNT(DISTINCT s.songplay_id) FROM songplays AS s) > 0
GROUP BY songplay_id
HAVING COUNT(*) > 1 OR songplay_id IS NULL;
