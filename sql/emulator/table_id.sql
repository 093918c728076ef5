-- The object id of a table, stored in stl_load_errors.tbl as Redshift does. Parameter: table_name.
SELECT CAST(c.oid AS INTEGER) AS table_id
FROM pg_class AS c
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
WHERE c.relname = %(table_name)s AND n.nspname = CURRENT_SCHEMA();
