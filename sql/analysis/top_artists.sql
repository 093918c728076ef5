-- Plays of the most played artists (top N), for the "top artists" chart.
-- Columns: artist, play_count. Parameter: top_n (integer).
-- Notes: an artist is an artist name, as in the brief's most_played_song.sql and top_songs.sql (with
-- the same joins), so the counts add up with top_songs. Only plays matched to the catalog count.
-- Tie order: play_count descending, then name (byte order on both backends; the local server runs in
-- the C locale).
SELECT
    artists.name AS artist,
    COUNT(*) AS play_count
FROM songplays
INNER JOIN songs ON songplays.song_id = songs.song_id
INNER JOIN artists ON songs.artist_id = artists.artist_id
GROUP BY artists.name
ORDER BY play_count DESC, artists.name ASC
LIMIT %(top_n)s;
