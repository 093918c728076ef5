-- The original brief's example 2, the most used hours of day in the last 7 days: the brief's query as
-- written (Redshift SQL, run unchanged on both backends; the brief's tokens, sqlfluff's layout).
-- Columns: hour, play_count; the five busiest hours, most used first.
-- Notes: the window is what the brief's SQL computes, not 7 calendar days: from the last play's
-- timestamp minus 6 days to the last play, both ends included (BETWEEN on timestamps), i.e. 144
-- hours ending at the last play. most_used_hours_window.sql returns its first and last timestamp and
-- plays_by_hour_last_7_days.sql all 24 hours of the same window. Ties at the fifth place are cut by
-- LIMIT in an order the engine chooses (the brief has no tie-break; its tokens are kept).
-- Locally, DATEADD(day, -6, ...) becomes "+ INTERVAL '-6 DAY'" on a TIMESTAMP (sparkify/dialect.py).
-- Lint: the brief's lower-case datepart `day` stays, so CP01 is off for this file.
-- noqa: disable=CP01
WITH last_date_table AS (
    SELECT MAX(songplays.start_time) AS last_date
    FROM songplays
),

start_date_table AS (
    -- BETWEEN function below is inclusive, so used '-6' as interval
    SELECT DATEADD(day, -6, CAST(last_date AS datetime)) AS start_date
    FROM last_date_table
),

last_7days_songplays AS (
    SELECT * FROM songplays, start_date_table, last_date_table
    WHERE start_time BETWEEN start_date AND last_date
)

SELECT t.hour, COUNT(*) AS play_count FROM last_7days_songplays seven
JOIN time t ON seven.start_time = t.start_time
GROUP BY t.hour
ORDER BY play_count DESC
LIMIT 5;
