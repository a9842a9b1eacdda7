-- reserved for triage: error signatures, marks, free-text index
SELECT 1;
