-- Drop table songplays (and everything in it); used before re-creating it.
DROP TABLE IF EXISTS songplays;
