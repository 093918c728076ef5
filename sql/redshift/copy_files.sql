-- Redshift only: how many files one COPY read (stl_load_commits has a row per file).
-- Columns: files. Parameter: query (COPY id).
SELECT COUNT(DISTINCT filename) AS files
FROM stl_load_commits
WHERE query = %(query)s;
