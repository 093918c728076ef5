-- The original brief's example 2: the hours of day with most plays in the last 7 days of data (the
-- last day and the six before it, by DATEADD(day, -6, CAST(last_date AS datetime))).
-- The brief's text is not in this repository: this query follows DESIGN.md's description of it.
-- When the brief's own text is at hand, it replaces the query below as written (with user_agent).
-- Columns: hour, play_count, most used first.
-- noqa: disable=AM04,AM06,CP01,CP03,AL01,AL03,LT01,LT02,LT05,LT09,RF02,ST05,ST06
SELECT t.hour, COUNT(*) AS play_count
FROM songplays sp
JOIN time t ON sp.start_time = t.start_time
WHERE
    sp.start_time >= (
        SELECT DATEADD(day, -6, CAST(last_date AS datetime))
        FROM (SELECT CAST(MAX(start_time) AS date) AS last_date FROM songplays) AS d
    )
GROUP BY t.hour
ORDER BY play_count DESC;
