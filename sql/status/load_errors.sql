-- The records one COPY rejected, from the local COPY emulator's stl_load_errors (the Redshift
-- backend reads SYS_LOAD_ERROR_DETAIL instead: sql/redshift/load_error_detail.sql).
-- Columns: filename, line_number, colname, raw_field_value, err_reason. Parameter: query (COPY id).
SELECT
    TRIM(filename) AS filename,
    line_number,
    TRIM(colname) AS colname,
    TRIM(raw_field_value) AS raw_field_value,
    TRIM(err_reason) AS err_reason
FROM stl_load_errors
WHERE query = %(query)s
ORDER BY filename, line_number;
