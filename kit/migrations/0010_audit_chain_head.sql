-- The audit chain's head, read under the chain's lock, in one round trip instead of two
-- (kit/audit.py). A VOLATILE function takes a fresh snapshot for each statement it runs (READ
-- COMMITTED), so the head is read after the lock is held: a writer that committed while this
-- one waited for the lock is seen. (One plain statement would read with a snapshot taken before
-- its lock was granted, and fork the chain.)
CREATE FUNCTION audit_chain_head() RETURNS text LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('tsunagu.audit'));
    RETURN (SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1);
END $$;
