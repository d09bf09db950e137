-- The session itself (開催): when, who attended, the minutes (members only, never in events).
CREATE TABLE meeting_sessions (
    meeting_id   uuid PRIMARY KEY REFERENCES meetings (id),
    held_at      timestamptz NOT NULL,
    attendee_ids text[] NOT NULL,
    minutes      text,
    recorded_by  text NOT NULL
);
-- Decisions are final once recorded: a correction is a new row that names the one it
-- supersedes; the old row only gains superseded_by (set once, from NULL).
CREATE TABLE meeting_decisions (
    id            uuid PRIMARY KEY,
    meeting_id    uuid NOT NULL REFERENCES meetings (id),
    kind          text NOT NULL,
    person_ids    uuid[] NOT NULL,
    facts         jsonb NOT NULL,   -- the MeetingDecided event as published
    supersedes    uuid UNIQUE REFERENCES meeting_decisions (id),
    superseded_by uuid REFERENCES meeting_decisions (id),
    reason        text,             -- why it corrects the one it supersedes
    decided_by    text NOT NULL,
    decided_at    timestamptz NOT NULL
);
CREATE INDEX meeting_decisions_meeting ON meeting_decisions (meeting_id);
