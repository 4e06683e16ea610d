DROP TABLE IF EXISTS write_probe;
