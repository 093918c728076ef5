-- Plays by hour of day (UTC) in the window of the brief's most_used_hours_last_7_days.sql, all 24
-- hours, hours without plays as 0, for the 24-bar chart beside the brief's answer.
-- Columns: hour, play_count (24 rows, hour 0 to 23).
-- Notes: the window and the join to "time" are the brief's (see most_used_hours_window.sql), so each
-- hour's count equals the brief's for that hour. The zero hours come from this SQL, not from the
-- chart code: Redshift runs generate_series on the leader node only, never joined to a table, so the
-- 24 hours are built portably from a ten-digit list. (sparkify.charts.plays_by_hour also draws a
-- missing hour as 0, for the all-time plays_by_hour.sql.)
-- Both tables are filtered on the window (the same rows: the join is on start_time), so that both are
-- read by their sort key's range (zone maps on Redshift, their BRIN stand-in locally), not in full;
-- the bounds are computed once (one row) and compared as values.
WITH digits AS (
    SELECT 0 AS d
    UNION ALL
    SELECT 1
    UNION ALL
    SELECT 2
    UNION ALL
    SELECT 3
    UNION ALL
    SELECT 4
    UNION ALL
    SELECT 5
    UNION ALL
    SELECT 6
    UNION ALL
    SELECT 7
    UNION ALL
    SELECT 8
    UNION ALL
    SELECT 9
),

hours AS (
    SELECT tens.d * 10 + units.d AS hour
    FROM digits AS tens
    CROSS JOIN digits AS units
    WHERE tens.d * 10 + units.d < 24
),

bounds AS (
    SELECT
        DATEADD(DAY, -6, CAST(MAX(songplays.start_time) AS DATETIME)) AS window_start,
        MAX(songplays.start_time) AS window_end
    FROM songplays
),

window_plays AS (
    SELECT t.hour
    FROM songplays
    INNER JOIN "time" AS t ON songplays.start_time = t.start_time
    WHERE
        songplays.start_time BETWEEN (SELECT b.window_start FROM bounds AS b) AND (SELECT b.window_end FROM bounds AS b)
        AND t.start_time BETWEEN (SELECT b.window_start FROM bounds AS b) AND (SELECT b.window_end FROM bounds AS b)
)

SELECT
    hours.hour,
    COUNT(window_plays.hour) AS play_count
FROM hours
LEFT JOIN window_plays ON hours.hour = window_plays.hour
GROUP BY hours.hour
ORDER BY hours.hour;
