-- Drop table staging_log (the counts of the last COPY per staging table).
DROP TABLE IF EXISTS staging_log;
