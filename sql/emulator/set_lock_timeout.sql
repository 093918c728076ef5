-- lock_timeout for the rest of the current transaction only (local backend): the full load empties
-- the star tables with TRUNCATE there (sparkify/dialect.py), which waits for other sessions that hold
-- the table; past this time it fails, naming the wait, instead of waiting forever.
-- Parameter: lock_timeout (a quoted duration such as '60s').
SELECT SET_CONFIG('lock_timeout', %(lock_timeout)s, TRUE) AS lock_timeout;
