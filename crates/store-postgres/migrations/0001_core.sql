-- Core loop: alerts, incidents and their timeline, escalation jobs, the notification outbox.
-- Times are BIGINT microseconds since the Unix epoch (UTC), as in the SQLite backend, so both
-- backends share one timestamp codec and compare times as plain integers. JSON columns are
-- JSONB. Every tenant row has org_id.

CREATE TABLE incidents (
    id                   BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id               BIGINT  NOT NULL,
    title                TEXT    NOT NULL,
    service_id           TEXT    NOT NULL,
    severity             TEXT    NOT NULL,
    state                TEXT    NOT NULL,
    group_key            TEXT    NOT NULL,
    assignee             TEXT,
    escalation_policy_id TEXT,
    escalation_level     BIGINT  NOT NULL DEFAULT 0,
    escalation_cycle     BIGINT  NOT NULL DEFAULT 0,
    auto_resolve         BOOLEAN NOT NULL,
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL,
    acknowledged_at      BIGINT,
    mitigated_at         BIGINT,
    resolved_at          BIGINT
);
CREATE INDEX incidents_by_state ON incidents (org_id, state, id);
CREATE INDEX incidents_by_service ON incidents (org_id, service_id, id);
-- One open incident per alert group: the database enforces the grouping invariant.
CREATE UNIQUE INDEX incidents_one_open_per_group ON incidents (org_id, service_id, group_key) WHERE state <> 'resolved';

CREATE TABLE alerts (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id      BIGINT  NOT NULL,
    service_id  TEXT    NOT NULL,
    dedup_key   TEXT    NOT NULL,
    firing      BOOLEAN NOT NULL,
    summary     TEXT    NOT NULL,
    severity    TEXT    NOT NULL,
    labels      JSONB   NOT NULL,
    annotations JSONB   NOT NULL,
    details     JSONB   NOT NULL,
    links       JSONB   NOT NULL,
    images      JSONB   NOT NULL,
    format      TEXT    NOT NULL,
    incident_id BIGINT  REFERENCES incidents (id),
    silenced_by BIGINT,
    first_seen  BIGINT  NOT NULL,
    last_seen   BIGINT  NOT NULL,
    starts_at   BIGINT,
    resolved_at BIGINT,
    event_count BIGINT  NOT NULL DEFAULT 1,
    UNIQUE (org_id, service_id, dedup_key)
);
CREATE INDEX alerts_by_service ON alerts (org_id, service_id, firing, id);
CREATE INDEX alerts_by_firing ON alerts (org_id, firing, id);
CREATE INDEX alerts_by_incident ON alerts (org_id, incident_id, firing);

CREATE TABLE timeline (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id      BIGINT NOT NULL,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    at          BIGINT NOT NULL,
    actor_kind  TEXT   NOT NULL,
    actor_id    TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    data        JSONB  NOT NULL
);
CREATE INDEX timeline_by_incident ON timeline (org_id, incident_id, id);

CREATE TABLE jobs (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id      BIGINT NOT NULL,
    kind        TEXT   NOT NULL,
    incident_id BIGINT,
    run_at      BIGINT NOT NULL,
    payload     JSONB  NOT NULL
);
CREATE INDEX jobs_by_due ON jobs (run_at, id);
CREATE INDEX jobs_by_incident ON jobs (org_id, incident_id, kind);

CREATE TABLE deliveries (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id            BIGINT NOT NULL,
    incident_id       BIGINT NOT NULL REFERENCES incidents (id),
    idempotency_key   TEXT   NOT NULL,
    user_id           TEXT   NOT NULL,
    contact_method_id TEXT   NOT NULL,
    channel           TEXT   NOT NULL,
    event             TEXT   NOT NULL,
    payload           JSONB  NOT NULL,
    state             TEXT   NOT NULL,
    attempts          BIGINT NOT NULL DEFAULT 0,
    next_attempt_at   BIGINT NOT NULL,
    lease_until       BIGINT,
    last_error        TEXT,
    created_at        BIGINT NOT NULL,
    sent_at           BIGINT,
    UNIQUE (org_id, idempotency_key)
);
CREATE INDEX deliveries_by_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_by_lease ON deliveries (state, lease_until);
CREATE INDEX deliveries_by_incident ON deliveries (org_id, incident_id, id);

CREATE TABLE change_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id      BIGINT NOT NULL,
    service_id  TEXT   NOT NULL,
    summary     TEXT   NOT NULL,
    source      TEXT,
    at          BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    details     JSONB  NOT NULL,
    links       JSONB  NOT NULL
);
CREATE INDEX change_events_by_service ON change_events (org_id, service_id, at);
CREATE INDEX change_events_by_time ON change_events (org_id, at);

CREATE TABLE silences (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id      BIGINT NOT NULL,
    matchers    TEXT   NOT NULL,
    starts_at   BIGINT NOT NULL,
    ends_at     BIGINT NOT NULL,
    created_by  JSONB  NOT NULL,
    comment     TEXT   NOT NULL
);
CREATE INDEX silences_by_window ON silences (org_id, ends_at);

CREATE TABLE api_tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id       BIGINT NOT NULL,
    name         TEXT   NOT NULL,
    user_id      TEXT,
    role         TEXT   NOT NULL,
    token_sha256 TEXT   NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL
);
