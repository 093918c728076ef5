-- Plays and distinct listeners by subscription level at the time of the play (free versus paid).
-- Grouped on RTRIM(level): Redshift ignores trailing blanks when it compares VARCHARs.
-- Columns: level, play_count, listeners.
-- Plays are counted per level and user first, so that each listener is one row of that step and is
-- counted with COUNT, not with COUNT(DISTINCT ...) over every play (a sort of all plays).
WITH per_user AS (
    SELECT
        RTRIM(sp.level) AS level,
        sp.user_id,
        COUNT(*) AS plays
    FROM songplays AS sp
    GROUP BY RTRIM(sp.level), sp.user_id
)

SELECT
    level,
    CAST(SUM(plays) AS BIGINT) AS play_count,
    COUNT(user_id) AS listeners
FROM per_user
GROUP BY level
ORDER BY play_count DESC;
