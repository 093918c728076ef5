-- Plays by browser family, classified the way browsers identify themselves: Internet Explorer
-- says MSIE or Trident; Chrome says Chrome/ (and also Safari/, so it is tested first); Firefox says
-- Firefox/; Safari says Safari/ without Chrome/. Everything else is "Other".
-- Columns: browser_family, play_count, listeners.
-- Plays are counted per user agent and user first (a few thousand pairs), so each user agent is
-- classified once per pair rather than once per play, and listeners are counted among the pairs.
WITH per_agent AS (
    SELECT
        sp.user_agent,
        sp.user_id,
        COUNT(*) AS plays
    FROM songplays AS sp
    GROUP BY sp.user_agent, sp.user_id
),

classified AS (
    SELECT
        pa.user_id,
        pa.plays,
        CASE
            WHEN pa.user_agent LIKE '%%MSIE%%' OR pa.user_agent LIKE '%%Trident/%%' THEN 'Internet Explorer'
            WHEN pa.user_agent LIKE '%%Edge/%%' OR pa.user_agent LIKE '%%Edg/%%' THEN 'Edge'
            WHEN pa.user_agent LIKE '%%Chrome/%%' OR pa.user_agent LIKE '%%CriOS/%%' THEN 'Chrome'
            WHEN pa.user_agent LIKE '%%Firefox/%%' THEN 'Firefox'
            WHEN pa.user_agent LIKE '%%Safari/%%' THEN 'Safari'
            ELSE 'Other'
        END AS browser_family
    FROM per_agent AS pa
)

SELECT
    browser_family,
    CAST(SUM(plays) AS BIGINT) AS play_count,
    COUNT(DISTINCT user_id) AS listeners
FROM classified
GROUP BY browser_family
ORDER BY play_count DESC, browser_family ASC;
