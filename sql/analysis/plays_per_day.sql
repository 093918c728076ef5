-- Plays per calendar day (UTC).
-- Columns: day, play_count.
SELECT
    CAST(sp.start_time AS DATE) AS day,
    COUNT(*) AS play_count
FROM songplays AS sp
GROUP BY CAST(sp.start_time AS DATE)
ORDER BY day;
