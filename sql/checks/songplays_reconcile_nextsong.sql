-- Check: songplays holds exactly one row per NextSong event staged (nothing dropped, no fan-out).
-- Returns one row with both counts when they differ; zero rows = pass.
SELECT
    staged.nextsong_events,
    loaded.songplays
FROM (
    SELECT COUNT(*) AS nextsong_events
    FROM staging_events
    WHERE page = 'NextSong'
) AS staged
CROSS JOIN (
    SELECT COUNT(*) AS songplays
    FROM songplays
) AS loaded
WHERE staged.nextsong_events <> loaded.songplays;
