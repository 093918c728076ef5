-- work_mem and temp_buffers for the rest of the current session (local backend; Redshift sizes
-- query memory itself through its workload management). Set when the session connects, since
-- temp_buffers can change only before the session first uses a temporary table; a step's own
-- work_mem (emulator/set_work_mem.sql) overrides it for its transaction.
-- Parameters: work_mem, temp_buffers (quoted sizes such as '64MB').
SELECT
    SET_CONFIG('work_mem', %(work_mem)s, FALSE) AS work_mem,
    SET_CONFIG('temp_buffers', %(temp_buffers)s, FALSE) AS temp_buffers;
