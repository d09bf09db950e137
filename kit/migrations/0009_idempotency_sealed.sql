-- Idempotency-Key answers are sealed and fingerprints keyed from now on (kit/idempotency.py):
-- the answers kept in the clear, and the plain hashes of requests, are dropped. A repeat of such
-- a key within its day answers 409 "already applied" (NULL fingerprint) instead of its body.
ALTER TABLE idempotency_keys ALTER COLUMN fingerprint DROP NOT NULL;
UPDATE idempotency_keys SET fingerprint = NULL, status = NULL, headers = NULL, body = NULL;
COMMENT ON COLUMN idempotency_keys.fingerprint IS 'HMAC of method, path and body (kit/sealing.py key)';
COMMENT ON COLUMN idempotency_keys.body IS 'the answer, sealed under a key only the same request derives';
