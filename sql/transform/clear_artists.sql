-- Full load: empty artists first (in the transform's transaction, so a failure restores it). DELETE,
-- never TRUNCATE: Redshift commits a TRUNCATE at once, which no later failure could roll back.
-- (The local backend runs it as a TRUNCATE, which PostgreSQL does roll back: sparkify/dialect.py.)
DELETE FROM artists;
