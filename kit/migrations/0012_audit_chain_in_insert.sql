-- The audit chain linked by the INSERT itself (kit/audit.py), so its lock is held for less.
-- Before: the writer took the chain's lock and read its head (audit_chain_head()), hashed in
-- Python, then inserted and committed: the lock was held across two round trips and the hashing,
-- and every audited write of the service queued behind it (at 40 writes a second on a busy
-- machine, 35 ms each on average, by pg_stat_statements). Now the writer hashes the record alone,
-- beforehand (`digest`: sha256 of its canonical JSON), and this trigger, under the same lock,
-- takes the row's place in the chain: its seq, the previous hash, and
-- hash = sha256(prev_hash || digest). The lock is taken by the INSERT and held until COMMIT.
--
-- The chain stays one: seq is assigned under the lock (the column default, taken before any
-- BEFORE trigger, would not be in lock order), and a VOLATILE trigger function's statements take
-- a fresh snapshot (READ COMMITTED), so the head read after the lock is the last committed one,
-- or this statement's previous row. Rows written the old way (no digest: hash computed by the
-- writer under audit_chain_head()'s lock) pass unchanged, so a service not yet upgraded keeps
-- linking correctly during a rolling deployment. `python -m kit.audit` verifies both forms.
ALTER TABLE audit_events ADD COLUMN digest text;

CREATE FUNCTION audit_events_chain() RETURNS trigger LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF NEW.digest IS NULL THEN
        RETURN NEW;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('tsunagu.audit'));
    NEW.seq := nextval(pg_get_serial_sequence('audit_events', 'seq'));
    NEW.prev_hash := coalesce((SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1),
                              repeat('0', 64));
    NEW.hash := encode(sha256(convert_to(NEW.prev_hash || NEW.digest, 'UTF8')), 'hex');
    RETURN NEW;
END $$;

CREATE TRIGGER audit_events_chain BEFORE INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_chain();
