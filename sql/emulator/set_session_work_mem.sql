-- work_mem for the rest of the current session (local backend; Redshift sizes query memory itself
-- through its workload management). A step's own work_mem (emulator/set_work_mem.sql) overrides it
-- for its transaction. Parameter: work_mem (a quoted size such as '64MB').
SELECT SET_CONFIG('work_mem', %(work_mem)s, FALSE) AS work_mem;
