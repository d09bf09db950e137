-- The daily digest: who asked for it, and the days it was sent (once per user per day).
CREATE TABLE digest_subscriptions (
    user_id      text PRIMARY KEY,
    municipality text NOT NULL,
    enabled      boolean NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE TABLE digests_sent (
    user_id text NOT NULL,
    day     date NOT NULL,
    PRIMARY KEY (user_id, day)
);
-- A digest's e-mail is about no single item.
ALTER TABLE email_outbox ALTER COLUMN item_id DROP NOT NULL;
