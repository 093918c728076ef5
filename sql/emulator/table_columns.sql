-- The columns of a table in order, with type and declared length (used by the COPY emulator to
-- map and check every value). Parameter: table_name.
SELECT
    column_name,
    data_type,
    character_maximum_length
FROM information_schema.columns
WHERE table_name = %(table_name)s AND table_schema = CURRENT_SCHEMA()
ORDER BY ordinal_position;
