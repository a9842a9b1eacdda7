-- reserved for the system events tables (seed 002)
SELECT 1;
