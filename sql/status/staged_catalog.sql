-- What the last COPY into staging_songs read (staging_log), and the rows staging_songs holds now:
-- notebook 02 keeps the catalog instead of copying it again when its files are unchanged and the
-- table still holds what that COPY loaded. Columns: source, files, fingerprint, records_read,
-- rows_loaded, rows_rejected, staged_at, rows_held (no row: never staged).
SELECT
    l.source,
    l.files,
    l.fingerprint,
    l.records_read,
    l.rows_loaded,
    l.rows_rejected,
    l.staged_at,
    (SELECT COUNT(*) FROM staging_songs) AS rows_held
FROM staging_log AS l
WHERE l.table_name = 'staging_songs';
