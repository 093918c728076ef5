-- Check: time.weekday lies in 0-6 (0 = Sunday).
-- Returns the rows outside; zero rows = pass.
SELECT
    start_time,
    weekday
FROM "time"
WHERE weekday NOT BETWEEN 0 AND 6;
