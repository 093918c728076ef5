-- The catalog's match keys: one row per staged song with its trimmed title and artist name,
-- computed once (a session's temporary table, like stage_plays), so that songplays.sql matches
-- plays to songs by a hash join on plain columns, with statistics for the planner.
-- Trimmed because Redshift ignores trailing blanks when comparing VARCHARs and PostgreSQL does not.
CREATE TEMP TABLE stage_song_keys AS
SELECT
    s.song_id,
    s.duration,
    TRIM(s.title) AS song_key,
    TRIM(s.artist_name) AS artist_key
FROM staging_songs AS s;
