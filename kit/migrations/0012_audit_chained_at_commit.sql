-- Audit records are chained at COMMIT, not when the route writes them. Before, a write took the
-- chain's lock (audit_chain_head) and then held it across two round trips to the service (the
-- head back to Python, the rows in, COMMIT out): every other write of the service queued behind
-- a busy event loop, not behind the disk. Under load the lock was what bounded the writes (most
-- backends of a 100/s run sampled waiting on it, its holder idle in transaction).
--
-- Now a record goes into audit_pending (same columns, plus the canonical JSON its hash covers,
-- made by kit/audit.py), and a deferred constraint trigger moves it into audit_events during
-- COMMIT: it takes the chain's lock, reads the head with a fresh snapshot (VOLATILE, READ
-- COMMITTED: a writer that committed while this one waited is seen), hashes and inserts. The lock
-- is then held only from that trigger to the end of the commit (its WAL flush), with no client in
-- between. The record still commits if and only if the transaction does, the chain is the same
-- (hash = sha256(prev hash || canonical JSON), checked by `python -m kit.audit` as before), and
-- deferred triggers fire in the order the rows were written, so a transaction's records keep
-- their order. audit_pending is empty outside a transaction in flight (each row is deleted by
-- the trigger that moves it), hence UNLOGGED: nothing in it ever needs to survive a crash.
CREATE UNLOGGED TABLE audit_pending (
    id           uuid PRIMARY KEY,
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
    person_ids   uuid[] NOT NULL,
    purpose      text NOT NULL,
    outcome      text NOT NULL,
    reason       text NOT NULL,
    trace_id     text,
    canonical    text NOT NULL
);

CREATE FUNCTION audit_chain_pending() RETURNS trigger LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    prev text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('tsunagu.audit'));
    prev := coalesce((SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1), repeat('0', 64));
    DELETE FROM audit_pending WHERE id = NEW.id;
    INSERT INTO audit_events (id, municipality, at, service, user_id, user_name, roles, agency,
        action, object_type, object_id, person_ids, purpose, outcome, reason, trace_id,
        prev_hash, hash)
    VALUES (NEW.id, NEW.municipality, NEW.at, NEW.service, NEW.user_id, NEW.user_name, NEW.roles,
        NEW.agency, NEW.action, NEW.object_type, NEW.object_id, NEW.person_ids, NEW.purpose,
        NEW.outcome, NEW.reason, NEW.trace_id, prev,
        encode(sha256(convert_to(prev || NEW.canonical, 'UTF8')), 'hex'));
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER audit_pending_chained AFTER INSERT ON audit_pending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_chain_pending();

DROP FUNCTION audit_chain_head();
