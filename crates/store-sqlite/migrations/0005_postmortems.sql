-- Action items: the follow-ups of an incident's postmortem (owner, due date, status). Every
-- change to one is also on the incident's timeline.
CREATE TABLE action_items (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      INTEGER NOT NULL,
    incident_id INTEGER NOT NULL,
    text        TEXT    NOT NULL,
    owner       TEXT,
    due         TEXT,
    status      TEXT    NOT NULL,
    actor_kind  TEXT    NOT NULL,
    actor_id    TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX action_items_by_incident ON action_items (org_id, incident_id, id);
