-- Add to time: one row per distinct start time of the staged plays not already in time, split
-- into calendar units (UTC). weekday follows Redshift and PostgreSQL: 0 = Sunday ... 6 = Saturday;
-- week is the ISO week.
INSERT INTO "time" (start_time, hour, day, week, month, year, weekday)
SELECT DISTINCT
    p.start_time,
    EXTRACT(HOUR FROM p.start_time) AS hour,
    EXTRACT(DAY FROM p.start_time) AS day,
    EXTRACT(WEEK FROM p.start_time) AS week,
    EXTRACT(MONTH FROM p.start_time) AS month,
    EXTRACT(YEAR FROM p.start_time) AS year,
    EXTRACT(DOW FROM p.start_time) AS weekday
FROM stage_plays AS p
LEFT JOIN "time" AS t ON p.start_time = t.start_time
WHERE t.start_time IS NULL;
