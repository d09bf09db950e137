-- Delivery under faults: parked outbox rows, dead letters recorded before they are published,
-- and the Idempotency-Key claims of creating requests.

-- A row the broker refuses for good (unknown topic, too large, invalid) is parked with its reason
-- instead of blocking every row behind it. Later rows of the same topic and key are parked too
-- ("held behind"), so a consumer never sees an aggregate's later event without its earlier one.
-- An operator re-queues them together: UPDATE outbox SET parked_at = NULL, park_reason = NULL.
ALTER TABLE outbox ADD COLUMN parked_at timestamptz, ADD COLUMN park_reason text;
DROP INDEX outbox_unpublished;
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL AND parked_at IS NULL;
CREATE INDEX outbox_parked ON outbox (topic, key, seq) WHERE parked_at IS NOT NULL
    AND published_at IS NULL;

-- One row per dead-lettered source record, written before the dead-letter topic is; published_at
-- says the topic has it, so a retry publishes a missing copy and never a second one.
DELETE FROM dead_letters a USING dead_letters b
WHERE a.id > b.id AND a.consumer = b.consumer AND a.topic = b.topic
  AND a.partition = b.partition AND a.kafka_offset = b.kafka_offset;
ALTER TABLE dead_letters ADD COLUMN published_at timestamptz;
UPDATE dead_letters SET published_at = dead_lettered_at;  -- the old order published first
CREATE UNIQUE INDEX dead_letters_source ON dead_letters (consumer, topic, partition, kafka_offset);

-- Idempotency-Key: claimed in the transaction of the state change, the response kept beside it.
CREATE TABLE idempotency_keys (
    user_id     text NOT NULL,
    key         text NOT NULL,
    fingerprint text NOT NULL,  -- method, path and body of the first request
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    status      integer,        -- NULL until the first request's response is stored
    headers     jsonb,
    body        bytea,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
