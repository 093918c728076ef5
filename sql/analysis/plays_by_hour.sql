-- Plays by hour of day (UTC), all 24 hours, for the daily-rhythm chart.
-- Columns: hour, play_count.
SELECT
    t.hour,
    COUNT(*) AS play_count
FROM songplays AS sp
INNER JOIN "time" AS t ON sp.start_time = t.start_time
GROUP BY t.hour
ORDER BY t.hour;
