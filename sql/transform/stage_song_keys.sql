-- The catalog's match keys: one row per staged song with its match key, computed once (a session's
-- temporary table, like stage_plays), so that songplays.sql matches plays to songs by a hash join on
-- one plain column, with statistics for the planner.
-- match_key is built as stage_plays.sql builds it: the trimmed title's length, ':', the trimmed title
-- and the trimmed artist name (trimmed because Redshift ignores trailing blanks when comparing
-- VARCHARs and PostgreSQL does not).
CREATE TEMP TABLE stage_song_keys AS
SELECT
    s.song_id,
    s.duration,
    CAST(LEN(TRIM(s.title)) AS VARCHAR) || ':' || TRIM(s.title) || TRIM(s.artist_name) AS match_key
FROM staging_songs AS s;
