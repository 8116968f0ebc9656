-- Per-minute good/total event counts of each SLO: pushed through the API or pulled from
-- Prometheus. The evaluator rebuilds its windows from these rows when the server starts.

CREATE TABLE slo_buckets (
    org_id       INTEGER NOT NULL,
    slo_id       TEXT    NOT NULL,
    minute_start INTEGER NOT NULL,
    good         INTEGER NOT NULL,
    total        INTEGER NOT NULL,
    PRIMARY KEY (org_id, slo_id, minute_start)
) WITHOUT ROWID;
