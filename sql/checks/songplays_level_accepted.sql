-- Check: songplays.level is 'free' or 'paid'.
-- Returns the plays with another value; zero rows = pass.
SELECT
    songplay_id,
    level
FROM songplays
WHERE level IS NULL OR level NOT IN ('free', 'paid');
