-- Check: load_log has one row per day (a re-run replaces its day, never adds a second row).
-- Returns the duplicated days; zero rows = pass.
SELECT
    day,
    COUNT(*) AS copies
FROM load_log
GROUP BY day
HAVING COUNT(*) > 1;
