-- The row-by-row reference loader (bench only): the song and artist of one play, by title, artist
-- name and duration, as the template's song_select.
SELECT s.song_id, a.artist_id
FROM rbr_songs AS s
INNER JOIN rbr_artists AS a ON s.artist_id = a.artist_id
WHERE s.title = %s AND a.name = %s AND s.duration = %s;
