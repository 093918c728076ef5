-- Plays by browser family, classified the way browsers identify themselves: Internet Explorer
-- says MSIE or Trident; Chrome says Chrome/ (and also Safari/, so it is tested first); Firefox says
-- Firefox/; Safari says Safari/ without Chrome/. Everything else is "Other".
-- Columns: browser_family, play_count, listeners.
WITH classified AS (
    SELECT
        sp.user_id,
        CASE
            WHEN sp.user_agent LIKE '%%MSIE%%' OR sp.user_agent LIKE '%%Trident/%%' THEN 'Internet Explorer'
            WHEN sp.user_agent LIKE '%%Edge/%%' OR sp.user_agent LIKE '%%Edg/%%' THEN 'Edge'
            WHEN sp.user_agent LIKE '%%Chrome/%%' OR sp.user_agent LIKE '%%CriOS/%%' THEN 'Chrome'
            WHEN sp.user_agent LIKE '%%Firefox/%%' THEN 'Firefox'
            WHEN sp.user_agent LIKE '%%Safari/%%' THEN 'Safari'
            ELSE 'Other'
        END AS browser_family
    FROM songplays AS sp
)

SELECT
    browser_family,
    COUNT(*) AS play_count,
    COUNT(DISTINCT user_id) AS listeners
FROM classified
GROUP BY browser_family
ORDER BY play_count DESC, browser_family ASC;
