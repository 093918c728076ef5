-- The report of a day: plays, listeners and plays matched to the catalog on that day, over the 7
-- days up to and including it, and over all time, in three rows. Days are UTC calendar days.
-- Columns: period, first_day, last_day, plays, listeners, matched_plays. Parameter: day (YYYY-MM-DD).
SELECT
    'that day' AS period,
    CAST(%(day)s AS DATE) AS first_day,
    CAST(%(day)s AS DATE) AS last_day,
    COUNT(*) AS plays,
    COUNT(DISTINCT sp.user_id) AS listeners,
    COUNT(sp.song_id) AS matched_plays
FROM songplays AS sp
WHERE
    sp.start_time >= CAST(%(day)s AS DATE)
    AND sp.start_time < DATEADD(DAY, 1, CAST(%(day)s AS DATE))
UNION ALL
SELECT
    '7 days to that day' AS period,
    CAST(DATEADD(DAY, -6, CAST(%(day)s AS DATE)) AS DATE) AS first_day,
    CAST(%(day)s AS DATE) AS last_day,
    COUNT(*) AS plays,
    COUNT(DISTINCT sp.user_id) AS listeners,
    COUNT(sp.song_id) AS matched_plays
FROM songplays AS sp
WHERE
    sp.start_time >= DATEADD(DAY, -6, CAST(%(day)s AS DATE))
    AND sp.start_time < DATEADD(DAY, 1, CAST(%(day)s AS DATE))
UNION ALL
SELECT
    'all time' AS period,
    CAST(MIN(sp.start_time) AS DATE) AS first_day,
    CAST(MAX(sp.start_time) AS DATE) AS last_day,
    COUNT(*) AS plays,
    COUNT(DISTINCT sp.user_id) AS listeners,
    COUNT(sp.song_id) AS matched_plays
FROM songplays AS sp;
