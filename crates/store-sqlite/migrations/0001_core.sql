-- Core loop: alerts, incidents and their timeline, escalation jobs, the notification outbox.
-- Times are INTEGER microseconds since the Unix epoch (UTC). Every tenant row has org_id.

CREATE TABLE incidents (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id               INTEGER NOT NULL,
    title                TEXT    NOT NULL,
    service_id           TEXT    NOT NULL,
    severity             TEXT    NOT NULL,
    state                TEXT    NOT NULL,
    group_key            TEXT    NOT NULL,
    assignee             TEXT,
    escalation_policy_id TEXT,
    escalation_level     INTEGER NOT NULL DEFAULT 0,
    escalation_cycle     INTEGER NOT NULL DEFAULT 0,
    auto_resolve         INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    acknowledged_at      INTEGER,
    mitigated_at         INTEGER,
    resolved_at          INTEGER
);
CREATE INDEX incidents_by_state ON incidents (org_id, state, id);
CREATE INDEX incidents_by_service ON incidents (org_id, service_id, id);
-- One open incident per alert group: the database enforces the grouping invariant.
CREATE UNIQUE INDEX incidents_one_open_per_group ON incidents (org_id, service_id, group_key) WHERE state <> 'resolved';

CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      INTEGER NOT NULL,
    service_id  TEXT    NOT NULL,
    dedup_key   TEXT    NOT NULL,
    firing      INTEGER NOT NULL,
    summary     TEXT    NOT NULL,
    severity    TEXT    NOT NULL,
    labels      TEXT    NOT NULL,
    annotations TEXT    NOT NULL,
    details     TEXT    NOT NULL,
    links       TEXT    NOT NULL,
    images      TEXT    NOT NULL,
    format      TEXT    NOT NULL,
    incident_id INTEGER REFERENCES incidents (id),
    silenced_by INTEGER,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    starts_at   INTEGER,
    resolved_at INTEGER,
    event_count INTEGER NOT NULL DEFAULT 1,
    UNIQUE (org_id, service_id, dedup_key)
);
CREATE INDEX alerts_by_service ON alerts (org_id, service_id, firing, id);
CREATE INDEX alerts_by_firing ON alerts (org_id, firing, id);
CREATE INDEX alerts_by_incident ON alerts (org_id, incident_id, firing);

CREATE TABLE timeline (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      INTEGER NOT NULL,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    at          INTEGER NOT NULL,
    actor_kind  TEXT    NOT NULL,
    actor_id    TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    data        TEXT    NOT NULL
);
CREATE INDEX timeline_by_incident ON timeline (org_id, incident_id, id);

CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    incident_id INTEGER,
    run_at      INTEGER NOT NULL,
    payload     TEXT    NOT NULL
);
CREATE INDEX jobs_by_due ON jobs (run_at, id);
CREATE INDEX jobs_by_incident ON jobs (org_id, incident_id, kind);

CREATE TABLE deliveries (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id            INTEGER NOT NULL,
    incident_id       INTEGER NOT NULL REFERENCES incidents (id),
    idempotency_key   TEXT    NOT NULL,
    user_id           TEXT    NOT NULL,
    contact_method_id TEXT    NOT NULL,
    channel           TEXT    NOT NULL,
    event             TEXT    NOT NULL,
    payload           TEXT    NOT NULL,
    state             TEXT    NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER NOT NULL,
    lease_until       INTEGER,
    last_error        TEXT,
    created_at        INTEGER NOT NULL,
    sent_at           INTEGER,
    UNIQUE (org_id, idempotency_key)
);
CREATE INDEX deliveries_by_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_by_incident ON deliveries (org_id, incident_id, id);

CREATE TABLE change_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      INTEGER NOT NULL,
    service_id  TEXT    NOT NULL,
    summary     TEXT    NOT NULL,
    source      TEXT,
    at          INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    details     TEXT    NOT NULL,
    links       TEXT    NOT NULL
);
CREATE INDEX change_events_by_service ON change_events (org_id, service_id, at);
CREATE INDEX change_events_by_time ON change_events (org_id, at);

CREATE TABLE silences (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      INTEGER NOT NULL,
    matchers    TEXT    NOT NULL,
    starts_at   INTEGER NOT NULL,
    ends_at     INTEGER NOT NULL,
    created_by  TEXT    NOT NULL,
    comment     TEXT    NOT NULL
);
CREATE INDEX silences_by_window ON silences (org_id, ends_at);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id       INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    user_id      TEXT,
    role         TEXT    NOT NULL,
    token_sha256 TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL
);
