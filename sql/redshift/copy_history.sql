-- Redshift only: the COPY into one table that this session started at or after started_at, from
-- SYS_LOAD_HISTORY (provisioned and Serverless, main and concurrency-scaling clusters alike).
-- Columns: query_id, status, loaded_rows, files, error_count.
-- Parameters: session_id (integer), started_at (timestamp), table_name.
SELECT
    query_id,
    TRIM(status) AS status,
    loaded_rows,
    source_file_count AS files,
    error_count
FROM sys_load_history
WHERE
    session_id = %(session_id)s
    AND start_time >= %(started_at)s
    AND TRIM(table_name) = %(table_name)s
ORDER BY start_time DESC
LIMIT 1;
