-- Fresh statistics for time, inside the transform's transaction, once its rows are upserted: the
-- later statements and the checks are planned on its new size, not on what it held before (a full
-- load empties it first), so they hash instead of looping.
ANALYZE "time";
