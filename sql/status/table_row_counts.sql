-- Rows in each of the seven tables of the pipeline, for summaries and `sparkify status`.
-- Columns: table_name, row_count.
SELECT 'staging_events' AS table_name, COUNT(*) AS row_count FROM staging_events
UNION ALL SELECT 'staging_songs', COUNT(*) FROM staging_songs
UNION ALL SELECT 'songplays', COUNT(*) FROM songplays
UNION ALL SELECT 'users', COUNT(*) FROM users
UNION ALL SELECT 'songs', COUNT(*) FROM songs
UNION ALL SELECT 'artists', COUNT(*) FROM artists
UNION ALL SELECT 'time', COUNT(*) FROM "time";
