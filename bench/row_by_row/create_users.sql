-- The row-by-row reference loader (bench only): its users table.
CREATE TABLE rbr_users (
    user_id INTEGER PRIMARY KEY,
    first_name VARCHAR,
    last_name VARCHAR,
    gender VARCHAR,
    level VARCHAR
);
