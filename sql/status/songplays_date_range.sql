-- The time span the star schema covers: the first and the last play, for report headers.
-- Columns: first_play, last_play (NULL when songplays is empty).
SELECT
    MIN(start_time) AS first_play,
    MAX(start_time) AS last_play
FROM songplays;
