-- Plays of the most played catalog songs (top N), for the "top songs" chart.
-- Columns: title, artist, play_count. Parameter: top_n (integer).
SELECT
    s.title,
    a.name AS artist,
    COUNT(*) AS play_count
FROM songplays AS sp
INNER JOIN songs AS s ON sp.song_id = s.song_id
LEFT JOIN artists AS a ON sp.artist_id = a.artist_id
GROUP BY s.song_id, s.title, a.name
ORDER BY play_count DESC, s.title ASC
LIMIT %(top_n)s;
