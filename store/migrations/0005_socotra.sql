-- reserved for the Socotra tables (seed 004)
SELECT 1;
