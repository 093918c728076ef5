-- stl_load_errors (local backend only): the local COPY emulator's record of rejected records,
-- modelled on Redshift's system table of the same name (its column names and meanings; tbl is the
-- target table's object id; tablename is our addition, so a reader needs no catalog join).
-- Redshift has this table built in; this file is never run there.
CREATE TABLE IF NOT EXISTS stl_load_errors (
    query INTEGER NOT NULL,
    tbl INTEGER NOT NULL,
    tablename VARCHAR(128) NOT NULL,
    starttime TIMESTAMP NOT NULL,
    filename VARCHAR(1024) NOT NULL,
    line_number BIGINT NOT NULL,
    colname VARCHAR(128),
    type VARCHAR(32),
    col_length VARCHAR(16),
    raw_line VARCHAR(1024),
    raw_field_value VARCHAR(1024),
    err_code INTEGER NOT NULL,
    err_reason VARCHAR(256) NOT NULL
);
