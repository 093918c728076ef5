-- Check: every identified user (non-empty userId) staged is in users: none missing. (Users of
-- earlier days stay; duplicates are users_primary_key's to find.)
-- Returns the missing user ids; zero rows = pass.
-- The staged userId values are made distinct first (a few thousand), so that each is trimmed,
-- converted and looked up once, not once per event; an empty one becomes NULL, never a number.
SELECT staged.user_id
FROM (
    SELECT DISTINCT CAST(NULLIF(TRIM(d.user_id), '') AS INTEGER) AS user_id
    FROM (
        SELECT DISTINCT e.user_id
        FROM staging_events AS e
    ) AS d
) AS staged
LEFT JOIN users AS u ON staged.user_id = u.user_id
WHERE staged.user_id IS NOT NULL AND u.user_id IS NULL;
