-- Stage the song catalog: every object under the SONG_DATA prefix into staging_songs.
-- The song keys are lower case and equal to the column names, so JSON 'auto' maps them by name.
-- Empty strings (the missing artist_location of about half the catalog) become NULL.
-- STATUPDATE ON: the table gets fresh statistics for the transform's joins.
-- Parameters: song_data, iam_role, region (quoted literals), max_errors (integer).
COPY staging_songs
FROM %(song_data)s
IAM_ROLE %(iam_role)s
FORMAT AS JSON 'auto'
REGION %(region)s
BLANKSASNULL
EMPTYASNULL
MAXERROR %(max_errors)s
COMPUPDATE OFF
STATUPDATE ON;
