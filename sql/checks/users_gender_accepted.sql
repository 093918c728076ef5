-- Check: users.gender is 'F' or 'M' (or unknown: NULL).
-- Returns the users with another value; zero rows = pass.
SELECT
    user_id,
    gender
FROM users
WHERE gender NOT IN ('F', 'M');
