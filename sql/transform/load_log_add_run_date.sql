-- Daily load: list the run's day even when it staged no play (a day without traffic, or a day
-- whose events were all outside NextSong), so that load_log shows every day loaded.
-- Parameter: run_date (YYYY-MM-DD).
INSERT INTO load_log (day, files, rows_read, rows_loaded, rows_rejected, nextsong_events, loaded_at)
SELECT
    CAST(%(run_date)s AS DATE) AS day,
    CAST(NULL AS INTEGER) AS files,
    CAST(NULL AS BIGINT) AS rows_read,
    CAST(NULL AS BIGINT) AS rows_loaded,
    CAST(NULL AS BIGINT) AS rows_rejected,
    0 AS nextsong_events,
    GETDATE() AS loaded_at
WHERE NOT EXISTS (
    SELECT 1
    FROM load_log AS l
    WHERE l.day = CAST(%(run_date)s AS DATE)
);
