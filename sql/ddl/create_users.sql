-- users (dimension): one row per identified user, with the names, gender and level of that user's
-- latest event. last_seen is that event's time: a day loaded late (an older day) never replaces
-- a newer level, whatever order the days arrive in.
-- Dist/sort: about a hundred rows, so DISTSTYLE ALL (a copy on every node: joins from
-- songplays never redistribute); SORTKEY(user_id) for lookups.
CREATE TABLE IF NOT EXISTS users (
    user_id INTEGER NOT NULL,
    first_name VARCHAR(256),
    last_name VARCHAR(256),
    gender VARCHAR(8),
    level VARCHAR(16),
    last_seen TIMESTAMP,
    PRIMARY KEY (user_id)
)
DISTSTYLE ALL
SORTKEY (user_id);
