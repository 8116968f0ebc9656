-- Runbook runs: one row per run of a runbook against an incident, holding a copy of the
-- runbook as it was when the run started and the run's progress (each step's status,
-- attempts, times, truncated output, approvals) as JSON. `state` repeats progress.state so
-- the executor finds active runs by index, and outcomes per symptom are counted in SQL.
CREATE TABLE runbook_runs (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          BIGINT  NOT NULL,
    incident_id     BIGINT  NOT NULL REFERENCES incidents(id),
    runbook         TEXT    NOT NULL,
    definition      JSONB   NOT NULL,
    symptom         TEXT,
    dry_run         BOOLEAN NOT NULL,
    started_by_kind TEXT    NOT NULL,
    started_by_id   TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    progress        JSONB   NOT NULL,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    finished_at     BIGINT
);
CREATE INDEX runbook_runs_incident ON runbook_runs (org_id, incident_id);
CREATE INDEX runbook_runs_state ON runbook_runs (state);
