-- Record one rejected record of a COPY in stl_load_errors (local backend).
-- Parameters: query, tbl, tablename, filename, line_number, colname, type, col_length, raw_line,
-- raw_field_value, err_code, err_reason.
INSERT INTO stl_load_errors (
    query, tbl, tablename, starttime, filename, line_number, colname, type, col_length,
    raw_line, raw_field_value, err_code, err_reason
)
VALUES (
    %(query)s, %(tbl)s, %(tablename)s, GETDATE(), %(filename)s, %(line_number)s, %(colname)s, %(type)s,
    %(col_length)s, %(raw_line)s, %(raw_field_value)s, %(err_code)s, %(err_reason)s
);
