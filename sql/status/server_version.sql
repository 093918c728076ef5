-- The warehouse's version string: the first query a new connection runs, to prove it works.
-- Columns: version.
SELECT VERSION() AS version;
