-- An agenda item's materials: pointers to records other services own (opening the record is
-- that service's decision), with the title and summary the presenting member writes. They are
-- read item by item under the rule of the body that tabled the item (kit/policy.py).
CREATE TABLE meeting_materials (
    id           uuid PRIMARY KEY,
    item_id      uuid NOT NULL REFERENCES meeting_agenda (id),
    meeting_id   uuid NOT NULL REFERENCES meetings (id),
    service      text NOT NULL,
    record_type  text NOT NULL,
    record_id    uuid NOT NULL,
    title        text NOT NULL,
    summary      text,             -- members only, as the item's rule allows; never in events
    presented_by text NOT NULL,
    presented_at timestamptz NOT NULL
);
CREATE INDEX meeting_materials_item ON meeting_materials (item_id);
-- The minutes of one item (議事録), the chair's record; a later version replaces it.
CREATE TABLE meeting_item_minutes (
    item_id     uuid PRIMARY KEY REFERENCES meeting_agenda (id),
    minutes     text NOT NULL,
    recorded_by text NOT NULL,
    recorded_at timestamptz NOT NULL
);
