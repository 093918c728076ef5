-- Check: users holds exactly the distinct identified users (non-empty userId) staged: none
-- missing, none invented. (Duplicate rows are users_primary_key's to find.) Distinct on
-- RTRIM(user_id), as Redshift compares VARCHARs (trailing blanks ignored).
-- Returns one row with both counts when they differ; zero rows = pass.
SELECT
    staged.identified_users,
    loaded.users
FROM (
    SELECT COUNT(DISTINCT RTRIM(user_id)) AS identified_users
    FROM staging_events
    WHERE user_id IS NOT NULL AND TRIM(user_id) <> ''
) AS staged
CROSS JOIN (
    SELECT COUNT(DISTINCT user_id) AS users
    FROM users
) AS loaded
WHERE staged.identified_users <> loaded.users;
