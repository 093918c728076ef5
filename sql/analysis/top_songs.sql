-- Plays of the most played songs (top N), for the "top songs" chart.
-- Columns: title, artist, play_count. Parameter: top_n (integer).
-- Notes: a song is what the brief's most_played_song.sql groups by, a title and an artist name, with
-- the same joins: two catalog versions of one song count together, one title by two artists counts
-- as two songs. Only plays matched to the catalog count (status/resolved_songplays.sql gives N of M).
-- Tie order: play_count descending, then title, then artist, in byte order on both backends (the local
-- server runs in the C locale, as Redshift compares). So the first row is the brief's most played
-- song with the same count; on a tie for first, the brief's LIMIT 1 (no tie-break) returns one of
-- the rows tied at the top, which this query lists in full.
SELECT
    songs.title,
    artists.name AS artist,
    COUNT(*) AS play_count
FROM songplays
INNER JOIN songs ON songplays.song_id = songs.song_id
INNER JOIN artists ON songs.artist_id = artists.artist_id
GROUP BY songs.title, artists.name
ORDER BY play_count DESC, songs.title ASC, artists.name ASC
LIMIT %(top_n)s;
