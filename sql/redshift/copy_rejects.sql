-- Redshift only: how many records one COPY rejected into stl_load_errors.
-- Columns: rows_rejected. Parameter: query (COPY id).
SELECT COUNT(*) AS rows_rejected
FROM stl_load_errors
WHERE query = %(query)s;
