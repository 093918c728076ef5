-- The bytes the staging tables hold (local backend only): the transform's work_mem is sized from
-- them, so that its hash joins, aggregates and sorts stay in memory (no temp-file spill).
SELECT
    PG_TOTAL_RELATION_SIZE('staging_events') + PG_TOTAL_RELATION_SIZE('staging_songs') AS staging_bytes;
