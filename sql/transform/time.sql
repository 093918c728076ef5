-- Build time: one row per distinct songplays.start_time, split into calendar units (UTC).
-- weekday follows Redshift and PostgreSQL: 0 = Sunday ... 6 = Saturday; week is the ISO week.
INSERT INTO "time" (start_time, hour, day, week, month, year, weekday)
SELECT DISTINCT
    sp.start_time,
    EXTRACT(HOUR FROM sp.start_time) AS hour,
    EXTRACT(DAY FROM sp.start_time) AS day,
    EXTRACT(WEEK FROM sp.start_time) AS week,
    EXTRACT(MONTH FROM sp.start_time) AS month,
    EXTRACT(YEAR FROM sp.start_time) AS year,
    EXTRACT(DOW FROM sp.start_time) AS weekday
FROM songplays AS sp;
