-- Audit records are chained AFTER their transactions commit, in batches, by one chainer at a time
-- (kit/audit.py `chain`, run by every instance as the periodic job "audit-chain"), instead of at
-- COMMIT under the chain's lock (0012). Chaining at COMMIT held that lock from the trigger through
-- the transaction's WAL flush, so every audited commit of a service waited for the one before
-- it, one fsync each (never one flush for several), and a holder that lost its core stalled them
-- all: 4 ms mean wait per consultation at 200/s (#14).
--
-- Now a writer inserts its record straight into audit_events, chain fields empty (''), and the
-- record's seq into audit_unchained, in its own transaction and without any lock: the record is
-- committed if and only if the transaction is, and readers see it as soon as it is. The chainer
-- takes the chain's lock (the same advisory lock as before), reads the head, and appends to
-- audit_links a link per committed unchained record, a batch at a time in seq order (a record
-- committed late is linked in a later batch: pos, not seq, is the chain's order): prev_hash and
-- hash = sha256(prev_hash || canonical JSON of the record), the hash the record would have had
-- in audit_events before. The lock is now held by chainers only, never by a writer.
--
-- The chain is then: the records chained in audit_events themselves (everything written before
-- this migration, in seq order), followed by audit_links in pos order. `python -m kit.audit`
-- verifies both, and names the records not yet chained (committed, in audit_unchained): a
-- tail of a fraction of a second normally; an old one means no chainer runs. Until it is
-- chained a record is protected by the append-only guards only: an edit made around them in
-- that window (by the database's superuser) would be chained as edited.
--
-- Rolling deployment: an instance not yet upgraded still writes audit_pending; its trigger
-- (redefined below) moves the record into audit_events unchained and queues it, without the
-- lock. A writer older still (audit_chain_head(), 0013) inserts a chained record itself; a
-- trigger empties its chain fields and queues it, so it joins the one chain through the chainer.
-- The migration waits for commits chaining the old way that are in flight (the lock below).
SELECT pg_advisory_xact_lock(hashtext('tsunagu.audit'));

ALTER TABLE audit_events ALTER COLUMN prev_hash SET DEFAULT '', ALTER COLUMN hash SET DEFAULT '';

-- Committed records not chained yet: at most the chainer's period's worth (logged: a committed
-- record's place in the queue must survive a crash).
CREATE TABLE audit_unchained (seq bigint PRIMARY KEY);

CREATE TABLE audit_links (
    pos       bigserial PRIMARY KEY,  -- the chain's order
    seq       bigint NOT NULL UNIQUE, -- the record (audit_events.seq)
    prev_hash text NOT NULL,
    hash      text NOT NULL
);
-- Append-only like audit_events (0002): refused to the runtime role and, by trigger, to others.
CREATE TRIGGER audit_links_no_update BEFORE UPDATE OR DELETE ON audit_links
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_links_no_truncate BEFORE TRUNCATE ON audit_links
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
DO $$ BEGIN
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON audit_links FROM %I',
                   current_setting('tsunagu.app_role'));
END $$;

-- An instance not yet upgraded: its pending record, moved at COMMIT as before, but unchained.
-- (Replacing the function resets its settings: 0014's enable_seqscan = off is set again.)
CREATE OR REPLACE FUNCTION audit_chain_pending() RETURNS trigger LANGUAGE plpgsql VOLATILE
SET enable_seqscan = off AS $$
DECLARE
    moved bigint;
BEGIN
    DELETE FROM audit_pending WHERE id = NEW.id;
    INSERT INTO audit_events (id, municipality, at, service, user_id, user_name, roles, agency,
        action, object_type, object_id, person_ids, purpose, outcome, reason, trace_id)
    VALUES (NEW.id, NEW.municipality, NEW.at, NEW.service, NEW.user_id, NEW.user_name, NEW.roles,
        NEW.agency, NEW.action, NEW.object_type, NEW.object_id, NEW.person_ids, NEW.purpose,
        NEW.outcome, NEW.reason, NEW.trace_id)
    RETURNING seq INTO moved;
    INSERT INTO audit_unchained (seq) VALUES (moved);
    RETURN NULL;
END $$;

-- A writer from before 0012, chaining its record itself: chained again by the chainer instead.
CREATE FUNCTION audit_events_chain_later() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.prev_hash := '';
    NEW.hash := '';
    INSERT INTO audit_unchained (seq) VALUES (NEW.seq);
    RETURN NEW;
END $$;
CREATE TRIGGER audit_events_chained_later BEFORE INSERT ON audit_events
    FOR EACH ROW WHEN (NEW.hash <> '' OR NEW.prev_hash <> '')
    EXECUTE FUNCTION audit_events_chain_later();
