-- Plays of the most played catalog artists (top N).
-- Columns: artist, play_count. Parameter: top_n (integer).
SELECT
    a.name AS artist,
    COUNT(*) AS play_count
FROM songplays AS sp
INNER JOIN artists AS a ON sp.artist_id = a.artist_id
GROUP BY a.artist_id, a.name
ORDER BY play_count DESC, a.name ASC
LIMIT %(top_n)s;
