-- The row-by-row reference loader (bench only): one user, the latest level kept, as the template's
-- user_table_insert.
INSERT INTO rbr_users (user_id, first_name, last_name, gender, level)
VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (user_id) DO UPDATE SET level = excluded.level;
