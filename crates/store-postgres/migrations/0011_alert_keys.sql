-- Schema version 11 on both backends: the SQLite backend moved its dedup-key lookup out of a
-- unique index on alerts (see its 0011). PostgreSQL keeps the unique index, since its
-- replicas share no memory to hold recent keys in; nothing changes here. The versions stay
-- equal so `staunch export` from one imports into the other.
SELECT 1;
