-- The staged plays per calendar day (UTC) of their start time: how many are staged, and how many of
-- them songplays already holds (a day loaded again). Taken before the upsert, for load_log's
-- accounting: a day's plays change by staged - replaced, whatever file or load they came from (a
-- day's file may hold the first minutes after midnight, and full and daily loads may be mixed).
-- songplays is looked up as songplays_replace_staged.sql deletes: by songplay_id, within the staged
-- plays' time range (a filter on its sort key, so a daily load reads the blocks of its day only).
-- A full load empties songplays first and counts with stage_days_full_load.sql instead.
CREATE TEMP TABLE stage_days AS
SELECT
    CAST(p.start_time AS DATE) AS day,
    COUNT(*) AS staged,
    COUNT(sp.songplay_id) AS replaced
FROM stage_plays AS p
LEFT JOIN (
    SELECT s.songplay_id
    FROM songplays AS s
    WHERE
        s.start_time BETWEEN (SELECT MIN(r.start_time) FROM stage_plays AS r)
        AND (SELECT MAX(r.start_time) FROM stage_plays AS r)
) AS sp ON p.songplay_id = sp.songplay_id
GROUP BY CAST(p.start_time AS DATE);
