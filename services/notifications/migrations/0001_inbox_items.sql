-- Per-recipient inbox items ("inbox" alone is the kit's table of processed events).
CREATE TABLE inbox_items (
    id           uuid PRIMARY KEY,
    municipality text NOT NULL,
    recipient_id text NOT NULL,
    about_type   text NOT NULL,
    about_id     uuid NOT NULL,
    title        text NOT NULL,
    body         text NOT NULL,
    urgency      text NOT NULL,
    created_at   timestamptz NOT NULL,
    read_at      timestamptz,
    UNIQUE (municipality, recipient_id, about_type, about_id)
);
CREATE INDEX inbox_items_recipient ON inbox_items (municipality, recipient_id, created_at DESC);
