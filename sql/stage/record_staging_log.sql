-- Record what a COPY into a staging table read, loaded and rejected (same transaction as the COPY),
-- with the digest of the source's files when it was taken (NULL: not taken).
-- Parameters: table_name, source, files, records_read, rows_loaded, rows_rejected, fingerprint.
INSERT INTO staging_log (
    table_name, source, files, records_read, rows_loaded, rows_rejected, staged_at, fingerprint
)
VALUES (
    %(table_name)s, %(source)s, %(files)s, %(records_read)s, %(rows_loaded)s, %(rows_rejected)s,
    GETDATE(), %(fingerprint)s
);
