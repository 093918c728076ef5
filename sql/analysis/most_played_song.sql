-- The original brief's example 1, verbatim: the most played song.
-- Columns: title, play_count. Only plays matched to the catalog have a song_id.
SELECT s.title, COUNT(*) AS play_count
FROM songplays sp
JOIN songs s ON sp.song_id = s.song_id
GROUP BY s.title
ORDER BY play_count DESC
LIMIT 1;
