-- Upsert songplays, step 1: remove the plays staged again (a re-run day), so that step 2
-- (songplays.sql) never duplicates a play. Keyed by the event-derived songplay_id.
DELETE FROM songplays
WHERE songplay_id IN (
    SELECT p.songplay_id
    FROM stage_plays AS p
);
