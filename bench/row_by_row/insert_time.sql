-- The row-by-row reference loader (bench only): one start time, as the template's time_table_insert.
INSERT INTO rbr_time (start_time, hour, day, week, month, year, weekday)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (start_time) DO NOTHING;
