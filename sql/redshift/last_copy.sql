-- Redshift only: the rows loaded by this session's last COPY (read inside its transaction).
-- Columns: rows_loaded.
SELECT PG_LAST_COPY_COUNT() AS rows_loaded;
