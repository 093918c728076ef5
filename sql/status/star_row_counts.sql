-- Rows in each of the five star tables: a full load counts them before it empties them, as the rows it
-- updates (a daily load takes its counts from its statements; status/table_row_counts.sql counts the
-- staging tables too).
-- Columns: table_name, row_count.
SELECT
    'songplays' AS table_name,
    COUNT(*) AS row_count
FROM songplays
UNION ALL
SELECT
    'users' AS table_name,
    COUNT(*) AS row_count
FROM users
UNION ALL
SELECT
    'songs' AS table_name,
    COUNT(*) AS row_count
FROM songs
UNION ALL
SELECT
    'artists' AS table_name,
    COUNT(*) AS row_count
FROM artists
UNION ALL
SELECT
    'time' AS table_name,
    COUNT(*) AS row_count
FROM "time";
