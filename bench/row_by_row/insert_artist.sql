-- The row-by-row reference loader (bench only): one artist, as the template's artist_table_insert.
INSERT INTO rbr_artists (artist_id, name, location, latitude, longitude)
VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (artist_id) DO NOTHING;
