-- Check: users.level is 'free' or 'paid'.
-- Returns the users with another value; zero rows = pass.
SELECT
    user_id,
    level
FROM users
WHERE level IS NULL OR level NOT IN ('free', 'paid');
