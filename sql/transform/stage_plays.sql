-- The staged plays, keyed: one row per NextSong event of staging_events, with its songplay_id and
-- the match key that matches it to the catalog, computed once (a session's temporary table:
-- concurrent sessions never see each other's).
-- songplay_id is derived from the event itself, so the same event has the same id in a full load
-- and in daily loads in any order: the first 15 hex digits (60 bits) of the MD5 of its time (to the
-- millisecond), session, item in session and user, read as a BIGINT. Redshift has STRTOL; the local
-- backend translates it (sparkify/dialect.py).
-- match_key: the trimmed title and the trimmed artist name in one column, the title's length first,
-- so that no two pairs give one key ("ab" + "c" is "2:abc", "a" + "bc" is "1:abc") and a NULL title or
-- artist gives NULL, which matches nothing. One plain column makes the match a hash join on it
-- (stage_song_keys.sql builds the catalog's the same way); with the two columns apart, PostgreSQL
-- counted the common titles against each other and sorted all plays for a merge join instead.
-- Trimmed because Redshift ignores trailing blanks when comparing VARCHARs and PostgreSQL does not;
-- trimming both sides makes both engines agree. level is kept without trailing blanks, as Redshift
-- compares it.
CREATE TEMP TABLE stage_plays AS
SELECT
    STRTOL(
        SUBSTRING(
            MD5(
                COALESCE(TO_CHAR(e.ts, 'YYYY-MM-DD HH24:MI:SS.MS'), '')
                || '|' || COALESCE(CAST(e.session_id AS VARCHAR), '')
                || '|' || COALESCE(CAST(e.item_in_session AS VARCHAR), '')
                || '|' || COALESCE(e.user_id, '')
            ),
            1, 15
        ),
        16
    ) AS songplay_id,
    e.ts AS start_time,
    CAST(e.user_id AS INTEGER) AS user_id,
    RTRIM(e.level) AS level,
    CAST(LEN(TRIM(e.song)) AS VARCHAR) || ':' || TRIM(e.song) || TRIM(e.artist) AS match_key,
    e.length,
    e.session_id,
    e.location,
    e.user_agent
FROM staging_events AS e
WHERE e.page = 'NextSong';
