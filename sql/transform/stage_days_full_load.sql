-- Full load: the staged plays per calendar day (UTC) of their start time, as stage_days.sql counts
-- them, for load_log's accounting; none is replaced, since the full load emptied songplays first (in
-- the same transaction), so songplays is not looked up at all.
CREATE TEMP TABLE stage_days AS
SELECT
    CAST(p.start_time AS DATE) AS day,
    COUNT(*) AS staged,
    CAST(0 AS BIGINT) AS replaced
FROM stage_plays AS p
GROUP BY CAST(p.start_time AS DATE);
