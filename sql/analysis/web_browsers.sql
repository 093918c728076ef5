-- The original brief's example 3, users' web browsers: the brief's query as written (Redshift SQL, run
-- unchanged on both backends), with one edit: the brief reads useragent, its schema's column is
-- user_agent. Its tokens are the brief's; the layout is sqlfluff's.
-- Columns: web_browser, num_event; the three most frequent tokens, most frequent first.
-- Notes: the token is the word after the version that follows the 3rd '/' of the user agent. For
-- Chrome ("... (KHTML, like Gecko) Chrome/36.0.1985.143 Safari/537.36") that word is "Safari", so
-- Chrome, Edge and Safari plays all count as "Safari"; Firefox and Internet Explorer give an empty
-- token, iPhone Safari gives "Mobile", a missing user agent gives NULL. The correct browser family is
-- plays_by_browser_family.sql. DISTINCT(...) applies to the whole row, as in Redshift and PostgreSQL.
-- Lint: the brief's DISTINCT(...) with GROUP BY and lower-case split_part stay (AM01, ST08, CP03 off).
-- noqa: disable=AM01,CP03,ST08
SELECT DISTINCT
    (split_part(split_part(user_agent, '/', 4), ' ', 2)) AS web_browser,
    COUNT(*) AS num_event
FROM songplays
GROUP BY web_browser
ORDER BY num_event DESC
LIMIT 3;
