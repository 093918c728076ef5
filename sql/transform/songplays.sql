-- Upsert songplays, step 2: one row per staged NextSong event (stage_plays), nothing dropped and
-- nothing duplicated.
-- Matching a play to the catalog: trimmed title and trimmed artist name equal, i.e. the same match
-- key (computed once, in stage_plays and stage_song_keys: a hash join on one plain column). When
-- several catalog songs match, the closest duration wins, then the lowest song_id, so each play keeps
-- exactly one candidate (rank 1). The play's artist_id is its song's artist_id in songs, so the two
-- always agree (songs is upserted first, in the same transaction).
INSERT INTO songplays (
    songplay_id, start_time, user_id, level, song_id, artist_id, session_id, location, user_agent
)
WITH candidates AS (
    SELECT
        p.songplay_id,
        s.song_id,
        ROW_NUMBER() OVER (
            PARTITION BY p.songplay_id
            ORDER BY ABS(s.duration - p.length), s.song_id
        ) AS candidate_rank
    FROM stage_plays AS p
    INNER JOIN stage_song_keys AS s ON p.match_key = s.match_key
)

SELECT
    p.songplay_id,
    p.start_time,
    p.user_id,
    p.level,
    c.song_id,
    so.artist_id,
    p.session_id,
    p.location,
    p.user_agent
FROM stage_plays AS p
LEFT JOIN candidates AS c
    ON p.songplay_id = c.songplay_id AND c.candidate_rank = 1
LEFT JOIN songs AS so
    ON c.song_id = so.song_id;
