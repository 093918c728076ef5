-- The original brief's example 1, the most played song: the brief's query as written (Redshift SQL,
-- run unchanged on both backends; the brief's text exactly, but for its indentation).
-- Columns: title, name (the artist), play_count.
-- Notes: only plays matched to the catalog have a song_id, so this counts matched plays only
-- (status/resolved_songplays.sql gives N of M). A song is a title and an artist name, as in
-- top_songs.sql, whose first row has the same play_count.
-- Ties: the brief orders by play_count only, and its tokens are kept, so when several songs share the
-- top count LIMIT 1 returns one of them, and which one is up to the engine (Redshift's slices,
-- PostgreSQL's sort). Adding a tie-break here would change the brief's query; instead top_songs.sql
-- lists every tied song in a fixed order (title, then artist), and the tests accept any tied row here.
SELECT songs.title, artists.name, COUNT(*) AS play_count
FROM songplays
JOIN songs ON songplays.song_id = songs.song_id
JOIN artists ON songs.artist_id = artists.artist_id
GROUP BY songs.title, artists.name
ORDER BY play_count DESC
LIMIT 1;
