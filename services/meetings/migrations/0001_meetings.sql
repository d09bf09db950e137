CREATE TABLE meetings (
    id            uuid PRIMARY KEY,
    municipality  text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('support_meeting', 'multilayer_meeting')),
    title         text NOT NULL,
    scheduled_for timestamptz NOT NULL,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL
);
-- Members; a 支援会議 member has signed the confidentiality pledge (守秘義務, Art. 106-6 (5)).
CREATE TABLE meeting_members (
    meeting_id uuid NOT NULL REFERENCES meetings (id),
    user_id    text NOT NULL,
    agency     text NOT NULL,
    pledged_at timestamptz,
    PRIMARY KEY (meeting_id, user_id)
);
CREATE TABLE meeting_agenda (
    id               uuid PRIMARY KEY,
    meeting_id       uuid NOT NULL REFERENCES meetings (id),
    person_ids       uuid[] NOT NULL,
    consultation_ids uuid[] NOT NULL,
    notes            text,           -- 支援会議 material: members only
    tabled_by        text NOT NULL,
    tabled_at        timestamptz NOT NULL
);
CREATE INDEX meeting_agenda_meeting ON meeting_agenda (meeting_id);
