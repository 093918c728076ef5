-- Check: time.start_time is unique and not null (Redshift does not enforce primary keys).
-- Returns each offending key with how often it occurs; zero rows = pass.
SELECT
    start_time,
    COUNT(*) AS occurrences
FROM "time"
GROUP BY start_time
HAVING COUNT(*) > 1 OR start_time IS NULL;
