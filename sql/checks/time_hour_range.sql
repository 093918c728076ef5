-- Check: time.hour lies in 0-23.
-- Returns the rows outside; zero rows = pass.
SELECT
    start_time,
    hour
FROM "time"
WHERE hour NOT BETWEEN 0 AND 23;
