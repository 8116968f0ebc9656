-- Runbook runs: one row per run of a runbook against an incident, holding a copy of the
-- runbook as it was when the run started and the run's progress (each step's status,
-- attempts, times, truncated output, approvals) as JSON. `state` repeats progress.state so
-- the executor finds active runs by index, and outcomes per symptom are counted in SQL.
CREATE TABLE runbook_runs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id          INTEGER NOT NULL,
    incident_id     INTEGER NOT NULL REFERENCES incidents(id),
    runbook         TEXT    NOT NULL,
    definition      TEXT    NOT NULL,
    symptom         TEXT,
    dry_run         INTEGER NOT NULL,
    started_by_kind TEXT    NOT NULL,
    started_by_id   TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    progress        TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    finished_at     INTEGER
);
CREATE INDEX runbook_runs_incident ON runbook_runs (org_id, incident_id);
CREATE INDEX runbook_runs_state ON runbook_runs (state);
