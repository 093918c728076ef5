-- Upsert artists, step 1: remove the artists that the staged catalog holds again (artists.sql
-- inserts them with the attributes the catalog gives now).
DELETE FROM artists
WHERE artist_id IN (
    SELECT s.artist_id
    FROM staging_songs AS s
);
