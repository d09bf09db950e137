-- What a meeting's members were told by a rule with later_members (MeetingScheduled): a member
-- who joins afterwards is told it as they join. Titles and links only, as the inbox items.
CREATE TABLE meeting_notices (
    meeting_id   uuid NOT NULL,
    event_id     uuid NOT NULL,
    municipality text NOT NULL,
    kind         text NOT NULL,
    about_id     uuid NOT NULL,
    title        text NOT NULL,
    body         text NOT NULL,
    link         text NOT NULL,
    urgency      text NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (meeting_id, event_id)
);
