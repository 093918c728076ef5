-- Check: a play's artist is its song's artist: for every play with a song_id, songplays.artist_id
-- equals songs.artist_id of that song. (A play without a song and with an artist, or with an
-- unknown artist, is songplays_artist_in_artists's to find.)
-- Returns the disagreeing plays; zero rows = pass.
SELECT
    sp.songplay_id,
    sp.song_id,
    sp.artist_id,
    s.artist_id AS song_artist_id
FROM songplays AS sp
INNER JOIN songs AS s ON sp.song_id = s.song_id
WHERE sp.artist_id IS NULL OR sp.artist_id <> s.artist_id;
