-- Upsert users, step 1: remove the users whose latest staged event is at least as recent as the
-- event their row comes from (last_seen); users.sql inserts them again from that newer event. A
-- late, older day leaves a newer level alone, so days can be loaded in any order.
DELETE FROM users
WHERE user_id IN (
    SELECT staged.user_id
    FROM (
        SELECT
            CAST(e.user_id AS INTEGER) AS user_id,
            MAX(e.ts) AS latest
        FROM staging_events AS e
        WHERE e.user_id IS NOT NULL AND TRIM(e.user_id) <> ''
        GROUP BY CAST(e.user_id AS INTEGER)
    ) AS staged
    INNER JOIN users AS known ON staged.user_id = known.user_id
    WHERE known.last_seen IS NULL OR staged.latest >= known.last_seen
);
