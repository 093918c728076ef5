-- Build songplays: one row per NextSong event, nothing dropped and nothing duplicated.
-- Matching a play to the catalog: trimmed title and trimmed artist name equal (trimmed on both
-- sides because Redshift ignores trailing blanks when comparing VARCHARs and PostgreSQL does not;
-- trimming makes both engines agree). When several catalog songs match, the closest duration
-- wins, then the lowest song_id, so each play keeps exactly one candidate (rank 1).
-- songplay_id numbers the events in time order (ties broken by session and item), so a re-run
-- gives the same ids. level is stored without trailing blanks, as Redshift compares it.
INSERT INTO songplays (
    songplay_id, start_time, user_id, level, song_id, artist_id, session_id, location, user_agent
)
WITH plays AS (
    SELECT
        ROW_NUMBER() OVER (
            ORDER BY e.ts, e.session_id, e.item_in_session, e.user_id
        ) AS songplay_id,
        e.ts AS start_time,
        CAST(e.user_id AS INTEGER) AS user_id,
        RTRIM(e.level) AS level,
        e.song,
        e.artist,
        e.length,
        e.session_id,
        e.location,
        e.user_agent
    FROM staging_events AS e
    WHERE e.page = 'NextSong'
),

candidates AS (
    SELECT
        p.songplay_id,
        s.song_id,
        s.artist_id,
        ROW_NUMBER() OVER (
            PARTITION BY p.songplay_id
            ORDER BY ABS(s.duration - p.length), s.song_id
        ) AS candidate_rank
    FROM plays AS p
    INNER JOIN staging_songs AS s
        ON TRIM(s.title) = TRIM(p.song) AND TRIM(s.artist_name) = TRIM(p.artist)
)

SELECT
    p.songplay_id,
    p.start_time,
    p.user_id,
    p.level,
    c.song_id,
    c.artist_id,
    p.session_id,
    p.location,
    p.user_agent
FROM plays AS p
LEFT JOIN candidates AS c
    ON p.songplay_id = c.songplay_id AND c.candidate_rank = 1;
