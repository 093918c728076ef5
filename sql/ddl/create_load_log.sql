-- load_log (bookkeeping): one row per calendar day (UTC) with plays in the star schema:
-- nextsong_events is how many plays of that day songplays holds, kept by exact accounting (each
-- load adds what it staged for the day minus what it replaced), so the reconciliation check can
-- compare it with songplays; loaded_at is when the day last changed. A day loaded by a daily run
-- also has that run's COPY counts (files, records read, loaded, rejected); a full load leaves them
-- NULL (its counts are per run, in summary.json).
-- Physical design: a row a day, so DISTSTYLE ALL; SORTKEY(day).
CREATE TABLE IF NOT EXISTS load_log (
    day DATE NOT NULL,
    files INTEGER,
    rows_read BIGINT,
    rows_loaded BIGINT,
    rows_rejected BIGINT,
    nextsong_events BIGINT NOT NULL,
    loaded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (day)
)
DISTSTYLE ALL
SORTKEY (day);
