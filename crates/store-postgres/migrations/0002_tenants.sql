-- Organisations (tenants) by slug, and the append-only audit log of changes made through the
-- API or the CLI.

CREATE TABLE organisations (
    id         BIGSERIAL PRIMARY KEY,
    slug       TEXT   NOT NULL UNIQUE,
    name       TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
-- The default organisation's id is fixed: rows written before tenants existed carry it.
INSERT INTO organisations (id, slug, name, created_at) VALUES (1, 'default', 'default', 0);
SELECT setval(pg_get_serial_sequence('organisations', 'id'), 1);

CREATE TABLE audit_log (
    id         BIGSERIAL PRIMARY KEY,
    org_id     BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    actor_kind TEXT   NOT NULL,
    actor_id   TEXT   NOT NULL,
    origin     TEXT   NOT NULL,
    action     TEXT   NOT NULL,
    target     TEXT   NOT NULL,
    details    JSONB  NOT NULL
);
CREATE INDEX audit_log_by_org ON audit_log (org_id, id);
CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_log_is_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
