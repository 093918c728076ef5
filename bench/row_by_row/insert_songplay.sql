-- The row-by-row reference loader (bench only): one play, as the template's songplay_table_insert.
INSERT INTO rbr_songplays (start_time, user_id, level, song_id, artist_id, session_id, location, user_agent)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s);
