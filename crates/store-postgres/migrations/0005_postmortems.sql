-- Action items: the follow-ups of an incident's postmortem (owner, due date, status). Every
-- change to one is also on the incident's timeline.
CREATE TABLE action_items (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id      BIGINT NOT NULL,
    incident_id BIGINT NOT NULL,
    text        TEXT    NOT NULL,
    owner       TEXT,
    due         TEXT,
    status      TEXT    NOT NULL,
    actor_kind  TEXT    NOT NULL,
    actor_id    TEXT    NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX action_items_by_incident ON action_items (org_id, incident_id, id);
