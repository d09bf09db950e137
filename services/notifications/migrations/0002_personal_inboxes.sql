-- Inboxes per user and per office; one item per recipient per event (the envelope id), a link
-- to the record, read marks.
ALTER TABLE inbox_items
    ADD COLUMN recipient_kind text NOT NULL DEFAULT 'office' CHECK (recipient_kind IN ('office', 'user')),
    ADD COLUMN link text NOT NULL DEFAULT '',
    ADD COLUMN event_id uuid;
UPDATE inbox_items SET event_id = id;
ALTER TABLE inbox_items ALTER COLUMN event_id SET NOT NULL;
ALTER TABLE inbox_items DROP CONSTRAINT inbox_items_municipality_recipient_id_about_type_about_id_key;
ALTER TABLE inbox_items ADD UNIQUE (municipality, recipient_kind, recipient_id, event_id);
DROP INDEX inbox_items_recipient;
CREATE INDEX inbox_items_recipient ON inbox_items
    (municipality, recipient_kind, recipient_id, created_at DESC, id);
