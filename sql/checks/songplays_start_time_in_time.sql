-- Check: every songplays.start_time has its row in time.
-- Returns the plays without one; zero rows = pass.
SELECT
    sp.songplay_id,
    sp.start_time
FROM songplays AS sp
LEFT JOIN "time" AS t ON sp.start_time = t.start_time
WHERE t.start_time IS NULL;
