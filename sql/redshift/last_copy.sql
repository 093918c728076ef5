-- Redshift only: the id and loaded row count of this session's last COPY.
-- Columns: query_id, rows_loaded.
SELECT
    PG_LAST_COPY_ID() AS query_id,
    PG_LAST_COPY_COUNT() AS rows_loaded;
