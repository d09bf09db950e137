-- Audit trail of every access to personal data (IHE Basic Audit Log: who, role, agency, action,
-- object, person, purpose, outcome, time, trace). Append-only twice over: the runtime role is
-- refused UPDATE/DELETE/TRUNCATE, and a trigger refuses them to everyone else. Each row's hash
-- covers the previous row's hash, so an edit made around both is still detected by `verify`.
CREATE TABLE audit_events (
    seq          bigserial PRIMARY KEY,
    id           uuid NOT NULL UNIQUE,
    municipality text NOT NULL,
    at           timestamptz NOT NULL,
    service      text NOT NULL,
    user_id      text NOT NULL,
    user_name    text NOT NULL,
    roles        text[] NOT NULL,
    agency       text NOT NULL,
    action       text NOT NULL,
    object_type  text NOT NULL,
    object_id    text,
    person_ids   uuid[] NOT NULL DEFAULT '{}',
    purpose      text NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('permitted', 'denied', 'break-glass')),
    reason       text NOT NULL,
    trace_id     text,
    prev_hash    text NOT NULL,
    hash         text NOT NULL
);
CREATE INDEX audit_events_user ON audit_events (municipality, user_id, at);
CREATE INDEX audit_events_at ON audit_events (municipality, at);
CREATE INDEX audit_events_person ON audit_events USING gin (person_ids);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP;
END $$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

DO $$ BEGIN
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM %I',
                   current_setting('tsunagu.app_role'));
END $$;
