-- The divisions' systems that hear events by webhook, and every delivery and attempt.
-- Secrets are kept (HMAC needs them); only operators register or rotate them, and no API
-- shows one again after it is issued.
CREATE TABLE webhook_subscribers (
    id                     uuid PRIMARY KEY,
    municipality           text NOT NULL,
    url                    text NOT NULL,
    event_types            text[] NOT NULL,
    support_meeting_member boolean NOT NULL,  -- declared a 支援会議 member body
    secret                 text NOT NULL,
    previous_secret        text,               -- still signing until retired (rotation)
    created_by             text NOT NULL,
    created_at             timestamptz NOT NULL
);
-- One delivery per subscriber per event: its id is the webhook-id of every attempt.
CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY,
    municipality    text NOT NULL,
    subscriber_id   uuid NOT NULL REFERENCES webhook_subscribers (id),
    event_id        uuid NOT NULL,
    event_type      text NOT NULL,
    body            bytea NOT NULL,             -- the CloudEvents JSON (structured mode)
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'parked')),
    failures        int NOT NULL DEFAULT 0,     -- since it was created or last replayed
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    created_at      timestamptz NOT NULL,
    delivered_at    timestamptz,
    UNIQUE (subscriber_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (subscriber_id, next_attempt_at)
    WHERE status = 'pending';
CREATE TABLE webhook_attempts (
    delivery_id  uuid NOT NULL REFERENCES webhook_deliveries (id),
    n            int NOT NULL,
    at           timestamptz NOT NULL,
    status_code  int,
    error        text,
    duration_ms  int NOT NULL,
    PRIMARY KEY (delivery_id, n)
);
