-- Plays and distinct listeners by subscription level at the time of the play (free versus paid).
-- Columns: level, play_count, listeners.
SELECT
    sp.level,
    COUNT(*) AS play_count,
    COUNT(DISTINCT sp.user_id) AS listeners
FROM songplays AS sp
GROUP BY sp.level
ORDER BY play_count DESC;
