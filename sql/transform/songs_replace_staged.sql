-- Upsert songs, step 1: remove the songs that the staged catalog holds again (step 2, songs.sql,
-- inserts them as the catalog has them now). Delete-and-insert is Redshift's documented merge
-- pattern ("Use a staging table to perform a merge"); its MERGE takes no subquery as source.
DELETE FROM songs
WHERE song_id IN (
    SELECT s.song_id
    FROM staging_songs AS s
);
