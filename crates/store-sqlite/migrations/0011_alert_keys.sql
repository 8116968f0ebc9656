-- Alerts are found by dedup key through `alert_keys`, written in bulk, instead of a unique
-- index on the alerts table. Dedup keys are random (fingerprints), so that index took one
-- random page per new alert: at 100 alerts per request most of what a commit wrote and a
-- checkpoint copied. Keys of recent alerts are held in memory by the writer and written here a
-- hash range at a time (`alert_keys.rs`), which touches a page per many keys. The writer
-- enforces uniqueness; this table and `alert_key_buckets` are derived from `alerts` and
-- rebuilt from it.

CREATE TABLE alerts_rebuilt (
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
    event_count INTEGER NOT NULL DEFAULT 1
);
INSERT INTO alerts_rebuilt SELECT * FROM alerts;
-- AUTOINCREMENT never reuses an id, even of a deleted row: carry the sequence over.
DELETE FROM sqlite_sequence WHERE name = 'alerts_rebuilt';
INSERT INTO sqlite_sequence (name, seq) SELECT 'alerts_rebuilt', seq FROM sqlite_sequence WHERE name = 'alerts';
DROP TABLE alerts;
ALTER TABLE alerts_rebuilt RENAME TO alerts;
CREATE INDEX alerts_by_service ON alerts (org_id, service_id, firing, id);
CREATE INDEX alerts_by_firing ON alerts (org_id, firing, id);
CREATE INDEX alerts_by_incident ON alerts (org_id, incident_id, firing);

-- A 64-bit hash of (org, service, dedup key) and the alert it names; two keys may share a
-- hash, so readers compare the alert's own columns.
CREATE TABLE alert_keys (
    key_hash INTEGER NOT NULL,
    alert_id INTEGER NOT NULL,
    PRIMARY KEY (key_hash, alert_id)
) WITHOUT ROWID;

-- Per hash range (the top six bits of the hash): every alert of the range with an id at or
-- below `through_alert_id` has its key in `alert_keys`. The writer loads the keys of later
-- alerts into memory when it opens; here nothing is written yet, so it loads them all.
CREATE TABLE alert_key_buckets (
    bucket           INTEGER PRIMARY KEY,
    through_alert_id INTEGER NOT NULL
);
WITH RECURSIVE buckets (bucket) AS (SELECT 0 UNION ALL SELECT bucket + 1 FROM buckets WHERE bucket < 63)
INSERT INTO alert_key_buckets (bucket, through_alert_id) SELECT bucket, 0 FROM buckets;
