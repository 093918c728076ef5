-- The original brief's example 1, verbatim: the most played song.
-- Columns: title, play_count. Only plays matched to the catalog have a song_id.
-- noqa: disable=AM04,AM06,CP01,CP03,AL01,AL03,LT01,LT02,LT05,LT09,RF02,ST05,ST06
SELECT s.title, COUNT(*) AS play_count
FROM songplays sp
JOIN songs s ON sp.song_id = s.song_id
GROUP BY s.title
ORDER BY play_count DESC
LIMIT 1;
