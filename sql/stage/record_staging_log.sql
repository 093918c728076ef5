-- Record what a COPY into a staging table read, loaded and rejected (same transaction as the COPY).
-- Parameters: table_name, source, files, records_read, rows_loaded, rows_rejected.
INSERT INTO staging_log (table_name, source, files, records_read, rows_loaded, rows_rejected, staged_at)
VALUES (
    %(table_name)s, %(source)s, %(files)s, %(records_read)s, %(rows_loaded)s, %(rows_rejected)s,
    GETDATE()
);
