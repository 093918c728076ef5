-- Stage the activity logs: every object under the LOG_DATA prefix into staging_events.
-- The log keys are camelCase, so the JSONPaths file maps them to the columns by position;
-- ts (epoch milliseconds) becomes a TIMESTAMP; empty and blank strings (the "" userId of
-- logged-out events) become NULL. Up to max_errors bad records are rejected into
-- the load errors (SYS_LOAD_ERROR_DETAIL) instead of failing the load. STATUPDATE ON: the table
-- gets fresh statistics for the transform's joins; COMPUPDATE OFF: no sampling for encodings.
-- Parameters: log_data, iam_role, log_jsonpath, region (quoted literals), max_errors (integer).
COPY staging_events
FROM %(log_data)s
IAM_ROLE %(iam_role)s
FORMAT AS JSON %(log_jsonpath)s
REGION %(region)s
TIMEFORMAT 'epochmillisecs'
BLANKSASNULL
EMPTYASNULL
MAXERROR %(max_errors)s
COMPUPDATE OFF
STATUPDATE ON;
