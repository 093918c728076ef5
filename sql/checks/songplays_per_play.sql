-- Checks of every play, in one pass: songplays is read once and joined to users, songs and artists
-- (small, hashed), not once per check. Each check is a column of the result, TRUE where the play breaks it:
-- Check songplays_level_accepted: songplays.level is 'free' or 'paid'.
-- Check songplays_user_in_users: every songplays.user_id that is set names a row of users.
-- Check songplays_song_in_songs: every non-null songplays.song_id names a row of songs.
-- Check songplays_artist_in_artists: every non-null songplays.artist_id names a row of artists.
-- Check songplays_song_artist_agree: a play's artist is its song's artist (songs.artist_id of its song_id).
-- (A play without a song and with an artist, or with an unknown artist, is songplays_artist_in_artists's
-- to find.) Returns the plays that break any of them, with the check columns; zero rows = pass.
-- The offending plays are counted first (one row out of the pass, so PostgreSQL runs it on parallel
-- workers) and listed only when there are some, as the primary key checks do.
SELECT
    sp.songplay_id,
    sp.user_id,
    sp.level,
    sp.song_id,
    sp.artist_id,
    s.artist_id AS song_artist_id,
    (sp.level IS NULL OR sp.level NOT IN ('free', 'paid')) AS songplays_level_accepted,
    (sp.user_id IS NOT NULL AND u.user_id IS NULL) AS songplays_user_in_users,
    (sp.song_id IS NOT NULL AND s.song_id IS NULL) AS songplays_song_in_songs,
    (sp.artist_id IS NOT NULL AND a.artist_id IS NULL) AS songplays_artist_in_artists,
    COALESCE(s.song_id IS NOT NULL AND (sp.artist_id IS NULL OR sp.artist_id <> s.artist_id), FALSE)
        AS songplays_song_artist_agree
FROM songplays AS sp
LEFT JOIN users AS u ON sp.user_id = u.user_id
LEFT JOIN songs AS s ON sp.song_id = s.song_id
LEFT JOIN artists AS a ON sp.artist_id = a.artist_id
WHERE
    (
        SELECT COUNT(*)
        FROM songplays AS cp
        LEFT JOIN users AS cu ON cp.user_id = cu.user_id
        LEFT JOIN songs AS cs ON cp.song_id = cs.song_id
        LEFT JOIN artists AS ca ON cp.artist_id = ca.artist_id
        WHERE
            cp.level IS NULL
            OR cp.level NOT IN ('free', 'paid')
            OR (cp.user_id IS NOT NULL AND cu.user_id IS NULL)
            OR (cp.song_id IS NOT NULL AND cs.song_id IS NULL)
            OR (cp.artist_id IS NOT NULL AND ca.artist_id IS NULL)
            OR (cs.song_id IS NOT NULL AND (cp.artist_id IS NULL OR cp.artist_id <> cs.artist_id))
    ) > 0
    AND (
        sp.level IS NULL
        OR sp.level NOT IN ('free', 'paid')
        OR (sp.user_id IS NOT NULL AND u.user_id IS NULL)
        OR (sp.song_id IS NOT NULL AND s.song_id IS NULL)
        OR (sp.artist_id IS NOT NULL AND a.artist_id IS NULL)
        OR (s.song_id IS NOT NULL AND (sp.artist_id IS NULL OR sp.artist_id <> s.artist_id))
    );
