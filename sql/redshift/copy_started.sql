-- Redshift only: this session's id and the server's time, read just before a COPY, so that the
-- SYS monitoring views can be filtered to that COPY alone (its session, at or after this time).
-- Columns: session_id, started_at.
SELECT
    PG_BACKEND_PID() AS session_id,
    GETDATE() AS started_at;
