-- Redshift only: the records one COPY rejected, with the columns of the local backend's report
-- (SYS_LOAD_ERROR_DETAIL keeps no raw field value, so raw_field_value is NULL here).
-- Columns: filename, line_number, colname, raw_field_value, err_reason.
-- Parameter: query (the COPY's query_id in SYS_LOAD_HISTORY).
SELECT
    TRIM(file_name) AS filename,
    line_number,
    TRIM(column_name) AS colname,
    CAST(NULL AS VARCHAR(1024)) AS raw_field_value,
    TRIM(error_message) AS err_reason
FROM sys_load_error_detail
WHERE query_id = %(query)s
ORDER BY filename, line_number;
