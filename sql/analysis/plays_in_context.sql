-- The report of a day: plays, listeners and plays matched to the catalog on that day, over the 7
-- days up to and including it, and over all time, in three rows. Days are UTC calendar days.
-- Columns: period, first_day, last_day, plays, listeners, matched_plays. Parameter: day (YYYY-MM-DD).
-- Each row counts per user first (a few thousand rows), so that listeners are counted with COUNT, not
-- with COUNT(DISTINCT ...) over every play (a sort of all plays). The day and the 7 days are ranges
-- of the sort key (start_time): they read only the blocks that can hold them (zone maps on Redshift,
-- their BRIN stand-in locally). With no play at all, the counts are 0.
SELECT
    'that day' AS period,
    CAST(%(day)s AS DATE) AS first_day,
    CAST(%(day)s AS DATE) AS last_day,
    COALESCE(CAST(SUM(per_user.plays) AS BIGINT), 0) AS plays,
    COUNT(per_user.user_id) AS listeners,
    COALESCE(CAST(SUM(per_user.matched_plays) AS BIGINT), 0) AS matched_plays
FROM (
    SELECT
        sp.user_id,
        COUNT(*) AS plays,
        COUNT(sp.song_id) AS matched_plays
    FROM songplays AS sp
    WHERE
        sp.start_time >= CAST(%(day)s AS DATE)
        AND sp.start_time < DATEADD(DAY, 1, CAST(%(day)s AS DATE))
    GROUP BY sp.user_id
) AS per_user
UNION ALL
SELECT
    '7 days to that day' AS period,
    CAST(DATEADD(DAY, -6, CAST(%(day)s AS DATE)) AS DATE) AS first_day,
    CAST(%(day)s AS DATE) AS last_day,
    COALESCE(CAST(SUM(per_user.plays) AS BIGINT), 0) AS plays,
    COUNT(per_user.user_id) AS listeners,
    COALESCE(CAST(SUM(per_user.matched_plays) AS BIGINT), 0) AS matched_plays
FROM (
    SELECT
        sp.user_id,
        COUNT(*) AS plays,
        COUNT(sp.song_id) AS matched_plays
    FROM songplays AS sp
    WHERE
        sp.start_time >= DATEADD(DAY, -6, CAST(%(day)s AS DATE))
        AND sp.start_time < DATEADD(DAY, 1, CAST(%(day)s AS DATE))
    GROUP BY sp.user_id
) AS per_user
UNION ALL
SELECT
    'all time' AS period,
    CAST(MIN(per_user.first_play) AS DATE) AS first_day,
    CAST(MAX(per_user.last_play) AS DATE) AS last_day,
    COALESCE(CAST(SUM(per_user.plays) AS BIGINT), 0) AS plays,
    COUNT(per_user.user_id) AS listeners,
    COALESCE(CAST(SUM(per_user.matched_plays) AS BIGINT), 0) AS matched_plays
FROM (
    SELECT
        sp.user_id,
        MIN(sp.start_time) AS first_play,
        MAX(sp.start_time) AS last_play,
        COUNT(*) AS plays,
        COUNT(sp.song_id) AS matched_plays
    FROM songplays AS sp
    GROUP BY sp.user_id
) AS per_user;
