-- E-mails of inbox items, queued in the transaction that files the item and sent by the
-- e-mail worker: one per item per user (the id), whatever happens to the event or the worker.
CREATE TABLE email_outbox (
    id              uuid PRIMARY KEY,
    municipality    text NOT NULL,
    item_id         uuid NOT NULL REFERENCES inbox_items (id),
    user_id         text NOT NULL,
    address         text NOT NULL,         -- from the operator's address file when queued
    message         bytea NOT NULL,        -- the whole MIME message, as sent
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    failures        int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    sent_at         timestamptz,
    UNIQUE (item_id, user_id)
);
CREATE INDEX email_outbox_due ON email_outbox (next_attempt_at) WHERE status = 'pending';
