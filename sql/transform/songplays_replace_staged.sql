-- Upsert songplays, step 1: remove the plays staged again (a re-run day), so that step 2
-- (songplays.sql) never duplicates a play. Keyed by the event-derived songplay_id; looked up within
-- the staged plays' time range only (a play staged again has its earlier row's start_time, since
-- songplay_id is derived from it): a filter on the sort key, so a daily load reads the blocks of its
-- day, not the whole table (zone maps on Redshift, their BRIN stand-in locally). stage_days.sql
-- counts the replaced plays by the same rule.
DELETE FROM songplays
WHERE
    songplay_id IN (
        SELECT p.songplay_id
        FROM stage_plays AS p
    )
    AND start_time BETWEEN (SELECT MIN(p.start_time) FROM stage_plays AS p)
    AND (SELECT MAX(p.start_time) FROM stage_plays AS p);
