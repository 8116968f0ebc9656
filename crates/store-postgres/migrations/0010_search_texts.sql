-- Past incidents are indexed by their investigation job, not by the transaction that wrote
-- their alerts: an incident's title and the distinct texts of its first alerts go into
-- `incident_search` when its investigation is claimed (see `investigation::index_texts`), so
-- ingest pays no full-text work and a flood of alerts into one incident adds a bounded number
-- of rows. Notes keep their trigger: they are few and written by people.
DROP TRIGGER incident_search_title ON incidents;
DROP FUNCTION incident_search_title();
DROP TRIGGER incident_search_alert ON alerts;
DROP FUNCTION incident_search_alert();

-- The texts already in `incident_search` for each incident (by digest: a body can outgrow a
-- btree key), so a text is indexed once. Derived data like the index itself: `staunch export`
-- leaves it out.
CREATE TABLE incident_search_texts (
    org_id      BIGINT NOT NULL,
    incident_id BIGINT NOT NULL,
    digest      TEXT   NOT NULL,
    PRIMARY KEY (org_id, incident_id, digest)
);

-- What the dropped triggers indexed counts as indexed.
INSERT INTO incident_search_texts (org_id, incident_id, digest)
SELECT org_id, incident_id, md5(body) FROM incident_search
ON CONFLICT DO NOTHING;
