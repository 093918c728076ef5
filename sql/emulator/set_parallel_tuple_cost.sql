-- parallel_tuple_cost for the rest of the current transaction only (local backend; the transform).
-- PostgreSQL never runs an INSERT ... SELECT in parallel, but it may compute the SELECT of a CREATE TABLE
-- ... AS on parallel workers: the transform's stage_plays, whose MD5 ids are most of its CPU. At the
-- default (0.1 per row passed from a worker) the planner keeps that wide, cheap-looking SELECT serial.
-- Parameter: parallel_tuple_cost (a quoted number such as '0.01').
SELECT SET_CONFIG('parallel_tuple_cost', %(parallel_tuple_cost)s, TRUE) AS parallel_tuple_cost;
