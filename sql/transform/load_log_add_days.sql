-- load_log, days not listed yet: one row each with the plays this load staged for it. The COPY's
-- counts are set by load_log_copy_counts.sql for the day of a daily load, NULL otherwise.
INSERT INTO load_log (day, files, rows_read, rows_loaded, rows_rejected, nextsong_events, loaded_at)
SELECT
    d.day,
    CAST(NULL AS INTEGER) AS files,
    CAST(NULL AS BIGINT) AS rows_read,
    CAST(NULL AS BIGINT) AS rows_loaded,
    CAST(NULL AS BIGINT) AS rows_rejected,
    d.staged - d.replaced AS nextsong_events,
    GETDATE() AS loaded_at
FROM stage_days AS d
LEFT JOIN load_log AS l ON d.day = l.day
WHERE l.day IS NULL;
