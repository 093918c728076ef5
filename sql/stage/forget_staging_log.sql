-- Forget the counts of the previous COPY into one staging table (before recording the new one).
-- Parameter: table_name.
DELETE FROM staging_log
WHERE table_name = %(table_name)s;
