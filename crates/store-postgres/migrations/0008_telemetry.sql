-- Pushed telemetry (log lines, trace spans, metric points) that live investigations read.
-- Disposable: kept for the configured retention, pruned by the leader in bounded batches,
-- and left out of exports. Reads are per organisation and time window, hence (org_id, time).
CREATE TABLE telemetry_logs (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id     BIGINT NOT NULL,
    service    TEXT   NOT NULL,
    at         BIGINT NOT NULL,
    level      TEXT   NOT NULL,
    message    TEXT   NOT NULL,
    pod        TEXT,
    attributes JSONB
);
CREATE INDEX telemetry_logs_by_time ON telemetry_logs (org_id, at);
CREATE TABLE telemetry_spans (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id         BIGINT NOT NULL,
    trace_id       TEXT   NOT NULL,
    span_id        TEXT   NOT NULL,
    parent_span_id TEXT,
    service        TEXT   NOT NULL,
    operation      TEXT   NOT NULL,
    start_at       BIGINT NOT NULL,
    duration_ms    DOUBLE PRECISION NOT NULL,
    status         TEXT   NOT NULL
);
CREATE INDEX telemetry_spans_by_time ON telemetry_spans (org_id, start_at);
CREATE TABLE telemetry_metrics (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id  BIGINT NOT NULL,
    service TEXT   NOT NULL,
    name    TEXT   NOT NULL,
    at      BIGINT NOT NULL,
    value   DOUBLE PRECISION NOT NULL,
    pod     TEXT
);
CREATE INDEX telemetry_metrics_by_time ON telemetry_metrics (org_id, at);
