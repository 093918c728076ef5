-- staging_log (bookkeeping): what the last COPY into each staging table read, loaded and
-- rejected, written in the COPY's own transaction, so the transform can record a day's counts in
-- load_log (notebooks 02 and 03 run in different processes), and the digest of the files it read,
-- so that an unchanged song catalog is not copied again.
-- Physical design: two rows, DISTSTYLE ALL.
CREATE TABLE IF NOT EXISTS staging_log (
    table_name VARCHAR(64) NOT NULL,
    source VARCHAR(1024) NOT NULL,
    files INTEGER NOT NULL,
    records_read BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    rows_rejected BIGINT NOT NULL,
    staged_at TIMESTAMP NOT NULL,
    fingerprint VARCHAR(64),
    PRIMARY KEY (table_name)
)
DISTSTYLE ALL;
