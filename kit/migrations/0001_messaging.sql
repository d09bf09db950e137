-- The kit's tables, in every service's database.

-- Transactional outbox: written in the same transaction as the state change it announces,
-- published later by the relay. seq gives the publish order; id is the event id (ce_id).
CREATE TABLE outbox (
    seq          bigserial PRIMARY KEY,
    id           uuid NOT NULL UNIQUE,
    municipality text NOT NULL,
    topic        text NOT NULL,
    key          text NOT NULL,
    type         text NOT NULL,
    payload      jsonb NOT NULL,
    headers      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;

-- Inbox: one row per event a consumer has applied; the primary key makes redelivery harmless.
CREATE TABLE inbox (
    consumer     text NOT NULL,
    message_id   uuid NOT NULL,
    topic        text NOT NULL,
    partition    integer NOT NULL,
    kafka_offset bigint NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);

-- What this service's consumer sent to its dead-letter topic, for operators and /metrics.
CREATE TABLE dead_letters (
    id               bigserial PRIMARY KEY,
    consumer         text NOT NULL,
    municipality     text,
    topic            text NOT NULL,
    partition        integer NOT NULL,
    kafka_offset     bigint NOT NULL,
    message_id       text,
    reason           text NOT NULL,
    attempts         integer NOT NULL,
    dead_lettered_at timestamptz NOT NULL DEFAULT now()
);
