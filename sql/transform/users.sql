-- Upsert users, step 2: every identified user (non-empty userId) staged and not in users (new, or
-- removed by users_replace_newer.sql), one row each. Name, gender and level come from the user's
-- latest staged event (by ts, then session and item; NULL times never count as latest), and
-- last_seen is that event's time. All pages count, not only NextSong: a user who only browsed is
-- still a user. Trailing blanks: Redshift ignores them in comparisons, so "5" and "5 " are one user
-- and "free " is an accepted level there; grouping on RTRIM(user_id) and storing RTRIM(level),
-- RTRIM(gender) makes PostgreSQL give the same rows.
-- Two steps, so that no step sorts the staged events: latest finds each user's latest time by
-- grouping (a few thousand users), then only the events at that time (one per user, a few on a
-- tie) are ranked by session and item. A user whose events all lack a time keeps all of them there.
INSERT INTO users (user_id, first_name, last_name, gender, level, last_seen)
WITH latest AS (
    SELECT
        RTRIM(e.user_id) AS user_key,
        MAX(e.ts) AS ts
    FROM staging_events AS e
    WHERE e.user_id IS NOT NULL AND TRIM(e.user_id) <> ''
    GROUP BY RTRIM(e.user_id)
),

ranked AS (
    SELECT
        CAST(e.user_id AS INTEGER) AS user_id,
        e.first_name,
        e.last_name,
        RTRIM(e.gender) AS gender,
        RTRIM(e.level) AS level,
        e.ts,
        ROW_NUMBER() OVER (
            PARTITION BY l.user_key
            ORDER BY e.session_id DESC, e.item_in_session DESC
        ) AS recency
    FROM staging_events AS e
    INNER JOIN latest AS l ON RTRIM(e.user_id) = l.user_key
    WHERE e.ts = l.ts OR (e.ts IS NULL AND l.ts IS NULL)
)

SELECT
    r.user_id,
    r.first_name,
    r.last_name,
    r.gender,
    r.level,
    r.ts AS last_seen
FROM ranked AS r
LEFT JOIN users AS known ON r.user_id = known.user_id
WHERE r.recency = 1 AND known.user_id IS NULL;
