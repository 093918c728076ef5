-- The columns of a table in order, with type and declared length: the COPY emulator maps and
-- checks values with them, and the pipeline compares them with sql/ddl/. Parameter: table_name.
SELECT
    column_name,
    data_type,
    character_maximum_length
FROM information_schema.columns
WHERE table_name = %(table_name)s AND table_schema = CURRENT_SCHEMA()
ORDER BY ordinal_position;
