-- The audit chain linked at COMMIT, inside PostgreSQL (kit/audit.py).
-- Before: the writer took the chain's lock and read its head (audit_chain_head()), hashed in
-- Python, inserted, then committed; the lock was held across those round trips, and every time
-- the writer's event loop came back to them. Every audited write of a service queued behind it:
-- at 30 writes a second on a busy machine, 177 ms of waiting per write on average
-- (pg_stat_statements). Now the writer hashes each record alone beforehand (`digest`: sha256 of
-- its canonical JSON) and inserts it unlinked; a deferred trigger links it when its transaction
-- commits: under the same lock it gives the record its place (chain_seq), the previous hash and
-- hash = sha256(prev_hash || digest). The lock is taken during COMMIT and released when it ends:
-- no client round trip while it is held.
--
-- One chain still: the tail is read and moved under the lock, and a VOLATILE trigger function's
-- statements take a fresh snapshot (READ COMMITTED), so the tail read after the lock is the last
-- committed record's, or this transaction's previous one. Records from before this migration
-- keep their order (seq; chain_seq NULL) and come first. A writer not yet upgraded (no digest;
-- hash computed under audit_chain_head()'s lock) still links correctly during a rolling
-- deployment: audit_chain_head() now returns the same tail, and its record gets its chain_seq
-- on insert. `python -m kit.audit` verifies both forms.
-- chain_seq is not indexed, so a record's link touches no index: a HOT update on its own page
-- (the room left on each page by the fill factor). The tail lives in a one-row table.
ALTER TABLE audit_events ADD COLUMN digest text, ADD COLUMN chain_seq bigint;
ALTER TABLE audit_events SET (fillfactor = 80);
CREATE TABLE audit_chain_tail (
    one       boolean PRIMARY KEY DEFAULT true CHECK (one),
    chain_seq bigint NOT NULL,
    hash      text NOT NULL
);
INSERT INTO audit_chain_tail (chain_seq, hash)
    SELECT 0, coalesce((SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1), repeat('0', 64));

CREATE OR REPLACE FUNCTION audit_chain_head() RETURNS text LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('tsunagu.audit'));
    RETURN (SELECT hash FROM audit_chain_tail);
END $$;

-- A record written the old way (its writer holds the lock): its place in the chain now. A new
-- one: left unlinked until COMMIT.
CREATE FUNCTION audit_events_place() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, public AS $$
BEGIN
    IF NEW.digest IS NULL THEN
        UPDATE audit_chain_tail SET chain_seq = chain_seq + 1, hash = NEW.hash
            RETURNING chain_seq INTO NEW.chain_seq;
    ELSE
        NEW.chain_seq := NULL;
        NEW.prev_hash := '';
        NEW.hash := '';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_events_place BEFORE INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_place();

-- SECURITY DEFINER: the runtime role may not UPDATE the trail; only this link is ever written.
CREATE FUNCTION audit_events_link() RETURNS trigger LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, public AS $$
DECLARE
    prev text;
    linked text;
    place bigint;
BEGIN
    IF NEW.digest IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('tsunagu.audit'));
    SELECT hash INTO prev FROM audit_chain_tail;
    linked := encode(sha256(convert_to(prev || NEW.digest, 'UTF8')), 'hex');
    UPDATE audit_chain_tail SET chain_seq = chain_seq + 1, hash = linked
        RETURNING chain_seq INTO place;
    UPDATE audit_events SET chain_seq = place, prev_hash = prev, hash = linked WHERE seq = NEW.seq;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER audit_events_link AFTER INSERT ON audit_events
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_events_link();

-- Append-only still: the one update ever allowed is that link, from inside the trigger above,
-- of a record not yet linked (so of this very transaction: every committed record is linked).
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND pg_trigger_depth() > 1 AND OLD.hash = '' AND OLD.chain_seq IS NULL
       AND NEW.digest = OLD.digest THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP;
END $$;

-- The runtime role reads the tail (audit_chain_head()) and moves it only through the triggers.
DO $$ BEGIN
    EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON audit_chain_tail FROM %I',
                   current_setting('tsunagu.app_role'));
END $$;
