-- Deploy links: the deploy (a change event) an incident opened soon after, copied as it was
-- so runbook templates and the API read it without the change event, and the rollback it
-- calls for. One link per incident (unique), written with the incident's opening; the
-- rollback leaves `pending` exactly once, in the transaction that starts its run.
CREATE TABLE deploy_links (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id            INTEGER NOT NULL,
    incident_id       INTEGER NOT NULL REFERENCES incidents(id),
    service_id        TEXT    NOT NULL,
    change_id         INTEGER NOT NULL,
    deploy            TEXT    NOT NULL,
    linked_at         INTEGER NOT NULL,
    rollback_runbook  TEXT,
    rollback_approval INTEGER NOT NULL,
    rollback_state    TEXT    NOT NULL,
    rollback_run_id   INTEGER,
    rollback_note     TEXT,
    updated_at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX deploy_links_incident ON deploy_links (org_id, incident_id);
CREATE INDEX deploy_links_pending ON deploy_links (rollback_state);
CREATE INDEX change_events_by_service_id ON change_events (org_id, service_id, id);
