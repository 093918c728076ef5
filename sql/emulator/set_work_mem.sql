-- work_mem for the rest of the current transaction only (local backend; Redshift sizes query memory
-- itself through its workload management). Parameter: work_mem (a quoted size such as '64MB').
SELECT SET_CONFIG('work_mem', %(work_mem)s, TRUE) AS work_mem;
