-- Mending what got stuck: a dead letter keeps the event itself (key, value, headers), so an
-- operator can replay it through the inbox without reading the topic, and its fate (replayed or
-- discarded, by whom, why) beside it. last_failed_at moves when a replay fails again.
ALTER TABLE dead_letters
    ADD COLUMN event_key     bytea,
    ADD COLUMN event_value   bytea,
    ADD COLUMN header_names  text[],
    ADD COLUMN header_values bytea[],
    ADD COLUMN last_failed_at timestamptz,
    ADD COLUMN status        text NOT NULL DEFAULT 'dead'
        CHECK (status IN ('dead', 'replayed', 'discarded')),
    ADD COLUMN resolved_at   timestamptz,
    ADD COLUMN resolved_by   text,
    ADD COLUMN resolution    text;
UPDATE dead_letters SET last_failed_at = dead_lettered_at;
ALTER TABLE dead_letters ALTER COLUMN last_failed_at SET DEFAULT now(),
                         ALTER COLUMN last_failed_at SET NOT NULL;
CREATE INDEX dead_letters_open ON dead_letters (consumer, id) WHERE status = 'dead';
