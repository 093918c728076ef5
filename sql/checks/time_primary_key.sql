-- Check: time.start_time is unique and not null (Redshift does not enforce primary keys).
-- Returns each offending key with how often it occurs; zero rows = pass.
-- The keys are counted first: COUNT(*) equals COUNT(DISTINCT start_time) exactly when every key is
-- set and none repeats (one sort of plain timestamps, no group per key). Only when they differ are
-- the rows grouped by key to name the offenders.
SELECT
    start_time,
    COUNT(*) AS occurrences
FROM "time"
WHERE (SELECT COUNT(*) - COUNT(DISTINCT t.start_time) FROM "time" AS t) > 0
GROUP BY start_time
HAVING COUNT(*) > 1 OR start_time IS NULL;
