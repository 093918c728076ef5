-- The original brief's example 1: the most played song (Redshift SQL, run unchanged on both backends).
-- The brief's text is not in this repository: this query follows DESIGN.md's description of it.
-- When the brief's own text is at hand, it replaces the query below as written (with user_agent).
-- Columns: title, play_count. Only plays matched to the catalog have a song_id.
-- noqa: disable=AM04,AM06,CP01,CP03,AL01,AL03,LT01,LT02,LT05,LT09,RF02,ST05,ST06
SELECT s.title, COUNT(*) AS play_count
FROM songplays sp
JOIN songs s ON sp.song_id = s.song_id
GROUP BY s.title
ORDER BY play_count DESC
LIMIT 1;
