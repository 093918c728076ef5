-- time (dimension): one row per distinct songplays.start_time, broken into calendar units.
-- Dist/sort: DISTKEY(start_time) matches songplays, so the fact-to-time join is local to
-- each slice; SORTKEY(start_time) for range filters (locally a BRIN index on start_time stands in
-- for the zone maps: sparkify/dialect.py). weekday: 0 = Sunday ... 6 = Saturday.
CREATE TABLE IF NOT EXISTS "time" (
    start_time TIMESTAMP NOT NULL,
    hour SMALLINT NOT NULL,
    day SMALLINT NOT NULL,
    week SMALLINT NOT NULL,
    month SMALLINT NOT NULL,
    year SMALLINT NOT NULL,
    weekday SMALLINT NOT NULL,
    PRIMARY KEY (start_time)
)
DISTSTYLE KEY
DISTKEY (start_time)
SORTKEY (start_time);
