-- Check: every identified user (non-empty userId) staged is in users: none missing. (Users of
-- earlier days stay; duplicates are users_primary_key's to find.)
-- Returns the missing user ids; zero rows = pass.
SELECT DISTINCT CAST(e.user_id AS INTEGER) AS user_id
FROM staging_events AS e
LEFT JOIN users AS u ON CAST(e.user_id AS INTEGER) = u.user_id
WHERE e.user_id IS NOT NULL AND TRIM(e.user_id) <> '' AND u.user_id IS NULL;
