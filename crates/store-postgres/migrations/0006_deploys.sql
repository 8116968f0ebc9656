-- Deploy links: the deploy (a change event) an incident opened soon after, copied as it was
-- so runbook templates and the API read it without the change event, and the rollback it
-- calls for. One link per incident (unique), written with the incident's opening; the
-- rollback leaves `pending` exactly once, in the transaction that starts its run (a
-- conditional UPDATE: a second replica's waits for the row lock, then finds it settled).
CREATE TABLE deploy_links (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id            BIGINT  NOT NULL,
    incident_id       BIGINT  NOT NULL REFERENCES incidents(id),
    service_id        TEXT    NOT NULL,
    change_id         BIGINT  NOT NULL,
    deploy            JSONB   NOT NULL,
    linked_at         BIGINT  NOT NULL,
    rollback_runbook  TEXT,
    rollback_approval BOOLEAN NOT NULL,
    rollback_state    TEXT    NOT NULL,
    rollback_run_id   BIGINT,
    rollback_note     TEXT,
    updated_at        BIGINT  NOT NULL
);
CREATE UNIQUE INDEX deploy_links_incident ON deploy_links (org_id, incident_id);
CREATE INDEX deploy_links_pending ON deploy_links (rollback_state) WHERE rollback_state = 'pending';
CREATE INDEX change_events_by_service_id ON change_events (org_id, service_id, id);
