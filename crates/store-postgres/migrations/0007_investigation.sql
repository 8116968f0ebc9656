-- The investigation: the service catalog, the latest investigation of each incident, the
-- index of change events by time, and the full-text index of past incidents.

-- Catalog entities (Backstage Component/System/Resource/API) as JSON, one row per entity
-- ref; `staunch catalog import` replaces an organisation's whole set.
CREATE TABLE catalog_entities (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id     BIGINT NOT NULL,
    entity_ref TEXT   NOT NULL,
    entity     JSONB  NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX catalog_entities_ref ON catalog_entities (org_id, entity_ref);

-- The latest investigation of each incident (hypotheses as JSON), replaced by each refresh.
CREATE TABLE investigations (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id      BIGINT NOT NULL,
    incident_id BIGINT NOT NULL REFERENCES incidents(id),
    computed_at BIGINT NOT NULL,
    result      JSONB  NOT NULL
);
CREATE UNIQUE INDEX investigations_incident ON investigations (org_id, incident_id);

-- Change candidates are read by time window: [onset - lookback, min(onset, as_of)].
CREATE INDEX change_events_by_at ON change_events (org_id, at);

-- Past incidents by their words: one row per piece of text (the title, each alert's summary
-- and label values, each note), with the time the text became known (`at`) and the
-- incident's opening (`opened_at`), so a search "as of" T sees neither incidents opened
-- after T nor text added after T. Derived data: triggers keep it in step with the rows it
-- comes from in the same transaction, an import rebuilds it by the same triggers, and
-- `staunch export` leaves it out. No identity column: nothing refers to a row.
CREATE TABLE incident_search (
    org_id      BIGINT NOT NULL,
    incident_id BIGINT NOT NULL,
    opened_at   BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    body        TEXT   NOT NULL,
    document    tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED
);
CREATE INDEX incident_search_document ON incident_search USING GIN (document);
CREATE INDEX incident_search_incident ON incident_search (org_id, incident_id);

CREATE FUNCTION incident_search_title() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO incident_search (org_id, incident_id, opened_at, at, body)
    VALUES (NEW.org_id, NEW.id, NEW.created_at, NEW.created_at, NEW.title);
    RETURN NULL;
END;
$$;
CREATE TRIGGER incident_search_title AFTER INSERT ON incidents
FOR EACH ROW EXECUTE FUNCTION incident_search_title();

CREATE FUNCTION incident_search_alert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.incident_id IS NULL THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.incident_id IS NOT DISTINCT FROM NEW.incident_id THEN
        RETURN NULL;
    END IF;
    INSERT INTO incident_search (org_id, incident_id, opened_at, at, body)
    SELECT NEW.org_id, NEW.incident_id, incidents.created_at, NEW.last_seen,
           NEW.summary || ' ' || COALESCE((SELECT string_agg(value, ' ') FROM jsonb_each_text(NEW.labels)), '')
    FROM incidents WHERE incidents.id = NEW.incident_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER incident_search_alert AFTER INSERT OR UPDATE OF incident_id ON alerts
FOR EACH ROW EXECUTE FUNCTION incident_search_alert();

CREATE FUNCTION incident_search_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind <> 'incident.note' THEN
        RETURN NULL;
    END IF;
    INSERT INTO incident_search (org_id, incident_id, opened_at, at, body)
    SELECT NEW.org_id, NEW.incident_id, incidents.created_at, NEW.at, COALESCE(NEW.data ->> 'text', '')
    FROM incidents WHERE incidents.id = NEW.incident_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER incident_search_note AFTER INSERT ON timeline
FOR EACH ROW EXECUTE FUNCTION incident_search_note();
