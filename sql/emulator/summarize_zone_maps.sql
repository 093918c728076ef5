-- Summarize the page ranges that the star tables' zone maps (BRIN indexes on their sort keys,
-- sparkify/dialect.py) do not cover yet: the rows a load just added, so that the next daily load's
-- lookups and the analysis' date ranges skip blocks at once, not only after autovacuum's next round.
-- Local backend only (Redshift keeps its zone maps itself). Columns: zone_map, ranges.
SELECT
    c.relname AS zone_map,
    BRIN_SUMMARIZE_NEW_VALUES(c.oid) AS ranges
FROM pg_class AS c
WHERE
    c.relkind = 'i'
    AND c.relnamespace = TO_REGNAMESPACE(CURRENT_SCHEMA())
    AND c.relname IN (
        'songplays_zone_map', 'users_zone_map', 'songs_zone_map', 'artists_zone_map', 'time_zone_map',
        'load_log_zone_map'
    );
