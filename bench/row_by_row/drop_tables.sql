-- The row-by-row reference loader (bench only): drop its own tables, so every run starts empty.
DROP TABLE IF EXISTS rbr_songplays, rbr_users, rbr_songs, rbr_artists, rbr_time;
