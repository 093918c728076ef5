-- Redshift only: the first records rejected by the COPY that just failed: this session's load
-- errors at or after the time read before that COPY (never an older load's rejects). No row means
-- the COPY failed before loading anything, and Redshift's own error message is the cause.
-- Columns: query_id, filename, line_number, colname, err_reason.
-- Parameters: session_id (integer), started_at (timestamp).
SELECT
    query_id,
    TRIM(file_name) AS filename,
    line_number,
    TRIM(column_name) AS colname,
    TRIM(error_message) AS err_reason
FROM sys_load_error_detail
WHERE session_id = %(session_id)s AND start_time >= %(started_at)s
ORDER BY start_time, line_number
LIMIT 5;
