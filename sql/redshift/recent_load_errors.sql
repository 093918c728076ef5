-- Redshift only: the rejected records of this session's most recent failed COPY, for the error
-- message (a failed COPY leaves no pg_last_copy_id, so the newest query with errors is taken).
-- Columns: query, filename, line_number, colname, raw_field_value, err_reason.
SELECT
    query,
    TRIM(filename) AS filename,
    line_number,
    TRIM(colname) AS colname,
    TRIM(raw_field_value) AS raw_field_value,
    TRIM(err_reason) AS err_reason
FROM stl_load_errors
WHERE session = PG_BACKEND_PID()
ORDER BY starttime DESC, line_number ASC
LIMIT 5;
