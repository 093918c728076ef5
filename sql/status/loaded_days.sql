-- The days merged into the star schema (load_log), newest first, with their counts.
-- Columns: day, files, rows_read, rows_loaded, rows_rejected, nextsong_events, loaded_at.
SELECT
    day,
    files,
    rows_read,
    rows_loaded,
    rows_rejected,
    nextsong_events,
    loaded_at
FROM load_log
ORDER BY day DESC;
