-- Rows in each of the seven tables of the pipeline, for summaries and `sparkify status`.
-- Columns: table_name, row_count.
SELECT
    'staging_events' AS table_name,
    COUNT(*) AS row_count
FROM staging_events
UNION ALL
SELECT
    'staging_songs' AS table_name,
    COUNT(*) AS row_count
FROM staging_songs
UNION ALL
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
