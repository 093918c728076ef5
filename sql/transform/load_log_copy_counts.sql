-- Daily load: the run's day gets the counts of the COPY that staged its file (staging_log): files,
-- records read, loaded and rejected.
-- Parameter: run_date (YYYY-MM-DD).
UPDATE load_log
SET
    files = s.files,
    rows_read = s.records_read,
    rows_loaded = s.rows_loaded,
    rows_rejected = s.rows_rejected,
    loaded_at = GETDATE()
FROM staging_log AS s
WHERE load_log.day = CAST(%(run_date)s AS DATE) AND s.table_name = 'staging_events';
