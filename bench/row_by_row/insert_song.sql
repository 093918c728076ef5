-- The row-by-row reference loader (bench only): one song, as the template's song_table_insert.
INSERT INTO rbr_songs (song_id, title, artist_id, year, duration)
VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (song_id) DO NOTHING;
