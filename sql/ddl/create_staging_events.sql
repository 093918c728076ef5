-- staging_events: the activity logs exactly as COPY reads them (one row per log line).
-- Columns follow log_json_path.json by position: COPY maps the 18 JSONPaths to these 18 columns.
-- Dist/sort: DISTSTYLE EVEN, because no key co-locates the match join (trimmed title and artist); song is NULL
-- for about 15 percent of events, which a DISTKEY(song) would pile on one slice; SORTKEY(ts), the
-- order the days' files load in. COPY updates the statistics (STATUPDATE ON).
-- Types hold the real data without loss: length and registration are DOUBLE PRECISION (five
-- decimals, epoch milliseconds as a float); ts is loaded with TIMEFORMAT 'epochmillisecs' into a
-- TIMESTAMP, keeping its milliseconds; user_id stays text because logged-out events carry "".
CREATE TABLE IF NOT EXISTS staging_events (
    artist VARCHAR(512),
    auth VARCHAR(32),
    first_name VARCHAR(256),
    gender VARCHAR(8),
    item_in_session INTEGER,
    last_name VARCHAR(256),
    length DOUBLE PRECISION,
    level VARCHAR(16),
    location VARCHAR(512),
    method VARCHAR(8),
    page VARCHAR(64),
    registration DOUBLE PRECISION,
    session_id INTEGER,
    song VARCHAR(512),
    status SMALLINT,
    ts TIMESTAMP,
    user_agent VARCHAR(1024),
    user_id VARCHAR(32)
)
DISTSTYLE EVEN
SORTKEY (ts);
