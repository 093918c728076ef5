-- Build users: every identified user (non-empty userId) in the logs, one row each.
-- Name, gender and level come from the user's latest event (by ts, then session and item), so a
-- user who went free -> paid -> free is "free". All pages count, not only NextSong: a user
-- who only browsed is still a user. Trailing blanks: Redshift ignores them in comparisons, so
-- "5" and "5 " are one user and "free " is an accepted level there; partitioning on RTRIM(user_id)
-- and storing RTRIM(level), RTRIM(gender) makes PostgreSQL give the same rows.
INSERT INTO users (user_id, first_name, last_name, gender, level)
WITH ranked AS (
    SELECT
        CAST(e.user_id AS INTEGER) AS user_id,
        e.first_name,
        e.last_name,
        RTRIM(e.gender) AS gender,
        RTRIM(e.level) AS level,
        ROW_NUMBER() OVER (
            PARTITION BY RTRIM(e.user_id)
            ORDER BY e.ts DESC NULLS LAST, e.session_id DESC, e.item_in_session DESC
        ) AS recency
    FROM staging_events AS e
    WHERE e.user_id IS NOT NULL AND TRIM(e.user_id) <> ''
)

SELECT
    user_id,
    first_name,
    last_name,
    gender,
    level
FROM ranked
WHERE recency = 1;
