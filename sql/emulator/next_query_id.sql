-- A new id for a COPY's rows in stl_load_errors (the local stand-in for Redshift's query id).
SELECT COALESCE(MAX(query), 0) + 1 AS query_id
FROM stl_load_errors;
