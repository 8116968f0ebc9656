-- Per-minute good/total event counts of each SLO: pushed through the API or pulled from
-- Prometheus. The evaluator rebuilds its windows from these rows when the server starts.

-- The id exists so that export and import page through this table like every other.
CREATE TABLE slo_buckets (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id       BIGINT NOT NULL,
    slo_id       TEXT   NOT NULL,
    minute_start BIGINT NOT NULL,
    good         BIGINT NOT NULL,
    total        BIGINT NOT NULL,
    UNIQUE (org_id, slo_id, minute_start)
);
