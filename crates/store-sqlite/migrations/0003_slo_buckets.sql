-- Per-minute good/total event counts of each SLO: pushed through the API or pulled from
-- Prometheus. The evaluator rebuilds its windows from these rows when the server starts.

-- The id exists so that export and import page through this table like every other.
CREATE TABLE slo_buckets (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id       INTEGER NOT NULL,
    slo_id       TEXT    NOT NULL,
    minute_start INTEGER NOT NULL,
    good         INTEGER NOT NULL,
    total        INTEGER NOT NULL,
    UNIQUE (org_id, slo_id, minute_start)
);
