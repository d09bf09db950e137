-- audit_chain_head() back (0012 dropped it), for a service instance not yet upgraded during a
-- rolling deployment: such a writer takes the chain's lock through it, reads the head and inserts
-- its chained record itself, until its COMMIT. The COMMIT-time trigger of 0012 takes the same
-- lock and reads the same head (the last record by seq), so both kinds of writer keep one chain;
-- without it, the old instance's audited writes would fail until it is replaced.
CREATE FUNCTION audit_chain_head() RETURNS text LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('tsunagu.audit'));
    RETURN (SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1);
END $$;
