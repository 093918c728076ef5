-- The bytes the staging tables and the star schema's two large tables (songplays, time) hold, 0 for
-- a table not created yet (local backend only): work_mem and temp_buffers are sized from them, so
-- that the transform's and the analysis' hash joins, aggregates and sorts stay in memory (no
-- temp-file spill) and the transform's temporary tables stay in its own buffers.
-- Columns: staging_bytes, star_bytes.
SELECT
    COALESCE(PG_TOTAL_RELATION_SIZE(TO_REGCLASS('staging_events')), 0)
    + COALESCE(PG_TOTAL_RELATION_SIZE(TO_REGCLASS('staging_songs')), 0) AS staging_bytes,
    COALESCE(PG_TOTAL_RELATION_SIZE(TO_REGCLASS('songplays')), 0)
    + COALESCE(PG_TOTAL_RELATION_SIZE(TO_REGCLASS('time')), 0) AS star_bytes;
