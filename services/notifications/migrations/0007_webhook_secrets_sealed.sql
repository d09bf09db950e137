-- Signing secrets are sealed at rest from now on (webhooks/secrets.py, kit/sealing.py). SQL cannot
-- seal them (the key is a setting, never in the database): the secrets kept in the clear become
-- bytes here, and the service seals them as it starts.
ALTER TABLE webhook_subscribers
    ALTER COLUMN secret TYPE bytea USING convert_to(secret, 'UTF8'),
    ALTER COLUMN previous_secret TYPE bytea USING convert_to(previous_secret, 'UTF8');
COMMENT ON COLUMN webhook_subscribers.secret IS 'sealed (AES-GCM, bound to id): never in the clear';
