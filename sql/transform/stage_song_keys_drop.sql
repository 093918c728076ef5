-- Drop this session's stage_song_keys (see stage_song_keys.sql) if an earlier transform left it.
DROP TABLE IF EXISTS stage_song_keys;
