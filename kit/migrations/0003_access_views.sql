-- Every service's own view of the facts its access decisions need, kept from events:
-- consents (owned by intake) and 支援会議 membership and agendas (owned by meetings).
CREATE TABLE consent_view (
    consent_id   uuid PRIMARY KEY,
    municipality text NOT NULL,
    person_id    uuid NOT NULL,
    agencies     text[] NOT NULL,
    purposes     text[] NOT NULL,
    valid_from   timestamptz NOT NULL,
    valid_until  timestamptz,
    withdrawn_at timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consent_view_person ON consent_view (person_id);

CREATE TABLE meeting_members_view (
    meeting_id   uuid NOT NULL,
    municipality text NOT NULL,
    user_id      text NOT NULL,
    PRIMARY KEY (meeting_id, user_id)
);
CREATE INDEX meeting_members_view_user ON meeting_members_view (user_id);

-- What is tabled where: a person or a consultation id on a meeting's agenda.
CREATE TABLE tabled_view (
    meeting_id   uuid NOT NULL,
    municipality text NOT NULL,
    kind         text NOT NULL,
    subject_id   uuid NOT NULL,
    PRIMARY KEY (meeting_id, subject_id)
);
CREATE INDEX tabled_view_subject ON tabled_view (subject_id);
