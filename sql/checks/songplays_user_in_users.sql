-- Check: every songplays.user_id that is set names a row of users.
-- Returns the orphaned plays; zero rows = pass.
SELECT
    sp.songplay_id,
    sp.user_id
FROM songplays AS sp
LEFT JOIN users AS u ON sp.user_id = u.user_id
WHERE sp.user_id IS NOT NULL AND u.user_id IS NULL;
