-- The original brief's example 3, with one name changed (the brief says useragent; the schema's
-- column is user_agent): users per "browser", taken as the word after the third '/'.
-- The brief's text is not in this repository: this query follows DESIGN.md's description of it.
-- When the brief's own text is at hand, it replaces the query below as written (with user_agent).
-- That token is the product named after the version number that follows the 3rd '/', which is
-- "Safari" for most Chrome user agents; see plays_by_browser_family.sql for a correct family.
-- Columns: browser, users.
-- noqa: disable=AM04,AM06,CP01,CP03,AL01,AL03,LT01,LT02,LT05,LT09,RF02,ST05,ST06
SELECT split_part(split_part(user_agent, '/', 4), ' ', 2) AS browser, COUNT(DISTINCT user_id) AS users
FROM songplays
GROUP BY 1
ORDER BY users DESC;
