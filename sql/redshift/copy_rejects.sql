-- Redshift only: how many records one COPY rejected (SYS_LOAD_ERROR_DETAIL has one row each).
-- Columns: rows_rejected. Parameter: query (the COPY's query_id in SYS_LOAD_HISTORY).
SELECT COUNT(*) AS rows_rejected
FROM sys_load_error_detail
WHERE query_id = %(query)s;
