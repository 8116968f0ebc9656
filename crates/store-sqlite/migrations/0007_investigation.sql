-- The investigation: the service catalog, the latest investigation of each incident, the
-- index of change events by time, and the full-text index of past incidents.

-- Catalog entities (Backstage Component/System/Resource/API) as JSON, one row per entity
-- ref; `staunch catalog import` replaces an organisation's whole set.
CREATE TABLE catalog_entities (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id     INTEGER NOT NULL,
    entity_ref TEXT    NOT NULL,
    entity     TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX catalog_entities_ref ON catalog_entities (org_id, entity_ref);

-- The latest investigation of each incident (hypotheses as JSON), replaced by each refresh.
CREATE TABLE investigations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      INTEGER NOT NULL,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    computed_at INTEGER NOT NULL,
    result      TEXT    NOT NULL
);
CREATE UNIQUE INDEX investigations_incident ON investigations (org_id, incident_id);

-- Change candidates are read by time window: [onset - lookback, min(onset, as_of)].
CREATE INDEX change_events_by_at ON change_events (org_id, at);

-- Past incidents by their words: one row per piece of text (the title, each alert's summary
-- and label values, each note), with the time the text became known (`at`) and the
-- incident's opening (`opened_at`), so a search "as of" T sees neither incidents opened
-- after T nor text added after T. Derived data: triggers keep it in step with the rows it
-- comes from in the same transaction, an import rebuilds it by the same triggers, and
-- `staunch export` leaves it out.
CREATE VIRTUAL TABLE incident_search USING fts5(
    body,
    org_id UNINDEXED,
    incident_id UNINDEXED,
    opened_at UNINDEXED,
    at UNINDEXED,
    tokenize = 'porter unicode61'
);

-- How many rows hold each (stemmed) word: the search leaves out words most rows hold, which
-- cost the most to match and rank and say the least.
CREATE VIRTUAL TABLE incident_search_vocab USING fts5vocab(incident_search, 'row');

CREATE TRIGGER incident_search_title AFTER INSERT ON incidents
BEGIN
    INSERT INTO incident_search (body, org_id, incident_id, opened_at, at)
    VALUES (NEW.title, NEW.org_id, NEW.id, NEW.created_at, NEW.created_at);
END;

CREATE TRIGGER incident_search_alert AFTER INSERT ON alerts WHEN NEW.incident_id IS NOT NULL
BEGIN
    INSERT INTO incident_search (body, org_id, incident_id, opened_at, at)
    SELECT NEW.summary || ' ' || COALESCE((SELECT group_concat(value, ' ') FROM json_each(NEW.labels)), ''),
           NEW.org_id, NEW.incident_id, incidents.created_at, NEW.last_seen
    FROM incidents WHERE incidents.id = NEW.incident_id;
END;

CREATE TRIGGER incident_search_alert_joins AFTER UPDATE OF incident_id ON alerts
WHEN NEW.incident_id IS NOT NULL AND (OLD.incident_id IS NULL OR OLD.incident_id <> NEW.incident_id)
BEGIN
    INSERT INTO incident_search (body, org_id, incident_id, opened_at, at)
    SELECT NEW.summary || ' ' || COALESCE((SELECT group_concat(value, ' ') FROM json_each(NEW.labels)), ''),
           NEW.org_id, NEW.incident_id, incidents.created_at, NEW.last_seen
    FROM incidents WHERE incidents.id = NEW.incident_id;
END;

CREATE TRIGGER incident_search_note AFTER INSERT ON timeline WHEN NEW.kind = 'incident.note'
BEGIN
    INSERT INTO incident_search (body, org_id, incident_id, opened_at, at)
    SELECT COALESCE(json_extract(NEW.data, '$.text'), ''), NEW.org_id, NEW.incident_id, incidents.created_at, NEW.at
    FROM incidents WHERE incidents.id = NEW.incident_id;
END;
