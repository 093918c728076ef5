-- Redshift only: no statement of this session runs longer than the given time (the connection
-- factory sets it on every new connection). Parameter: milliseconds (integer).
SET statement_timeout TO %(milliseconds)s;
