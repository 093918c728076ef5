-- What the last COPY into staging_events loaded from (staging_log): the transform checks that it is
-- the day (or the full prefix) it is about to merge. Columns: source (no row: staged by hand).
SELECT source
FROM staging_log
WHERE table_name = 'staging_events';
