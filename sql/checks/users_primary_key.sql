-- Check: users.user_id is unique and not null (Redshift does not enforce primary keys).
-- Returns each offending key with how often it occurs; zero rows = pass.
SELECT
    user_id,
    COUNT(*) AS occurrences
FROM users
GROUP BY user_id
HAVING COUNT(*) > 1 OR user_id IS NULL;
