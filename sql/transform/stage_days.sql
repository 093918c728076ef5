-- The staged plays per calendar day (UTC) of their start time: how many are staged, and how many of
-- them songplays already holds (a day loaded again). Taken before the upsert, for load_log's
-- accounting: a day's plays change by staged - replaced, whatever file or load they came from (a
-- day's file may hold the first minutes after midnight, and full and daily loads may be mixed).
CREATE TEMP TABLE stage_days AS
SELECT
    CAST(p.start_time AS DATE) AS day,
    COUNT(*) AS staged,
    COUNT(sp.songplay_id) AS replaced
FROM stage_plays AS p
LEFT JOIN songplays AS sp ON p.songplay_id = sp.songplay_id
GROUP BY CAST(p.start_time AS DATE);
