-- reserved for the automations tables (seed 003)
SELECT 1;
