-- Plays and distinct listeners by subscription level at the time of the play (free versus paid).
-- Grouped on RTRIM(level): Redshift ignores trailing blanks when it compares VARCHARs.
-- Columns: level, play_count, listeners.
SELECT
    RTRIM(sp.level) AS level,
    COUNT(*) AS play_count,
    COUNT(DISTINCT sp.user_id) AS listeners
FROM songplays AS sp
GROUP BY RTRIM(sp.level)
ORDER BY play_count DESC;
