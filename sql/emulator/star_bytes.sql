-- The bytes the fact table and its largest dimension hold (local backend only; 0 before they exist):
-- each connection's work_mem is sized from them, so that the analysis queries' hash joins of
-- songplays and time, their aggregates and sorts stay in memory (no temp-file spill).
SELECT
    COALESCE(PG_TOTAL_RELATION_SIZE(TO_REGCLASS('songplays')), 0)
    + COALESCE(PG_TOTAL_RELATION_SIZE(TO_REGCLASS('time')), 0) AS star_bytes;
