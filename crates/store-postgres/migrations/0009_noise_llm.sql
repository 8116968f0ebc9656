-- Alert-noise triage: the probability (in millionths) that the alert which opened an incident
-- was noise, as the model scored it then; NULL for incidents opened before scoring existed.
ALTER TABLE incidents ADD COLUMN noise_ppm BIGINT;
-- The noise model reads incident openings and their timeline by time.
CREATE INDEX incidents_by_created ON incidents (org_id, created_at);

-- Language-model exchanges, kept for audit: every prompt sent to a provider and what came
-- back (or why nothing did). Never holds the provider's key.
CREATE TABLE llm_exchanges (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id      BIGINT NOT NULL,
    incident_id BIGINT REFERENCES incidents (id),
    purpose     TEXT   NOT NULL,
    provider    TEXT   NOT NULL,
    model       TEXT   NOT NULL,
    prompt      TEXT   NOT NULL,
    response    TEXT,
    error       TEXT,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT NOT NULL
);
CREATE INDEX llm_exchanges_by_incident ON llm_exchanges (org_id, incident_id, id);
