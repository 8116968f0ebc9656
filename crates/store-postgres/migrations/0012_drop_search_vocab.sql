-- Nothing to change here. Both backends count schema versions alike, since an export names
-- the version it was written at and an import into the other backend checks it. SQLite's
-- migration 0012 drops a vocabulary table that PostgreSQL never had.
SELECT 1;
