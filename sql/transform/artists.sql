-- Build artists: one row per artist_id of the catalog.
-- The catalog disagrees with itself about some artists ("Snoop Dogg" on one song, "Snoop Dogg
-- featuring Kid Cudi" on another; a location on one song and none on another). The rule:
--   name: the name used on most of the artist's songs; ties go to the shortest name (the plain
--         artist rather than a "featuring" credit), then the alphabetically first. Votes are
--         counted on RTRIM(name): Redshift ignores trailing blanks when it compares VARCHARs, so
--         "X" and "X " are one name there, and PostgreSQL must count them as one too;
--   location, latitude, longitude: taken together from one song, so they never mix two places:
--         the song with coordinates first, then with a location, then the lowest song_id.
INSERT INTO artists (artist_id, name, location, latitude, longitude)
WITH name_votes AS (
    SELECT
        s.artist_id,
        RTRIM(s.artist_name) AS artist_name,
        COUNT(*) AS songs
    FROM staging_songs AS s
    WHERE s.artist_id IS NOT NULL
    GROUP BY s.artist_id, RTRIM(s.artist_name)
),

names AS (
    SELECT
        artist_id,
        artist_name,
        ROW_NUMBER() OVER (
            PARTITION BY artist_id
            ORDER BY songs DESC, LEN(artist_name), artist_name
        ) AS pick
    FROM name_votes
),

places AS (
    SELECT
        s.artist_id,
        s.artist_location,
        s.artist_latitude,
        s.artist_longitude,
        ROW_NUMBER() OVER (
            PARTITION BY s.artist_id
            ORDER BY
                CASE WHEN s.artist_latitude IS NOT NULL AND s.artist_longitude IS NOT NULL THEN 0 ELSE 1 END,
                CASE WHEN s.artist_location IS NOT NULL AND TRIM(s.artist_location) <> '' THEN 0 ELSE 1 END,
                s.song_id
        ) AS pick
    FROM staging_songs AS s
    WHERE s.artist_id IS NOT NULL
)

SELECT
    n.artist_id,
    n.artist_name AS name,
    p.artist_location AS location,
    p.artist_latitude AS latitude,
    p.artist_longitude AS longitude
FROM names AS n
INNER JOIN places AS p ON n.artist_id = p.artist_id AND p.pick = 1
WHERE n.pick = 1;
