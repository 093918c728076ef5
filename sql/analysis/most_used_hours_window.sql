-- The window of the brief's most_used_hours_last_7_days.sql, shown beside its answer: the first and
-- last timestamp it covers and how many plays fall in it.
-- Columns: window_start, window_end, play_count.
-- Notes: computed as the brief computes it, DATEADD(day, -6, CAST(last_date AS datetime)) to the last
-- play, both ends included (BETWEEN): 144 hours ending at the last play, not 7 calendar days.
-- With no plays at all, one row of NULL bounds and 0 plays.
WITH bounds AS (
    SELECT
        DATEADD(DAY, -6, CAST(MAX(songplays.start_time) AS DATETIME)) AS window_start,
        MAX(songplays.start_time) AS window_end
    FROM songplays
)

SELECT
    bounds.window_start,
    bounds.window_end,
    COUNT(songplays.songplay_id) AS play_count
FROM bounds
LEFT JOIN songplays ON songplays.start_time BETWEEN bounds.window_start AND bounds.window_end
GROUP BY bounds.window_start, bounds.window_end;
