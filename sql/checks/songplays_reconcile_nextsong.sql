-- Check: songplays holds exactly one row per NextSong event of every day loaded (load_log):
-- nothing dropped, no fan-out, no day counted twice.
-- Returns one row with both counts when they differ; zero rows = pass.
SELECT
    logged.nextsong_events,
    loaded.songplays
FROM (
    SELECT COALESCE(SUM(l.nextsong_events), 0) AS nextsong_events
    FROM load_log AS l
) AS logged
CROSS JOIN (
    SELECT COUNT(*) AS songplays
    FROM songplays
) AS loaded
WHERE logged.nextsong_events <> loaded.songplays;
