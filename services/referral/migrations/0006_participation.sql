-- Community resources' capacity as each host office last said it (the resources themselves are
-- the directory file's: directory_revisions.body).
CREATE TABLE resource_capacity (
    municipality text NOT NULL,
    resource_id  text NOT NULL,
    available    integer NOT NULL CHECK (available >= 0),
    maximum      integer NOT NULL CHECK (maximum >= available),
    updated_at   timestamptz NOT NULL,
    updated_by   text NOT NULL,
    PRIMARY KEY (municipality, resource_id)
);
-- Participation support (参加支援) of one person, run by one office: started by a meeting's
-- decision (decision_id; a correction re-points it or supersedes it) or by a coordinator.
-- The needs profile is personal data and stays here.
CREATE TABLE participations (
    id            uuid PRIMARY KEY,
    municipality  text NOT NULL,
    person_id     uuid NOT NULL,
    office        text NOT NULL,
    started_by    text NOT NULL,
    decision_id   uuid,
    need_codes    text[] NOT NULL,
    status        text NOT NULL,
    profile       jsonb,
    started_at    timestamptz NOT NULL,
    superseded_at timestamptz
);
CREATE UNIQUE INDEX participations_decided ON participations (decision_id, person_id);
CREATE TABLE placements (
    id               uuid PRIMARY KEY,
    participation_id uuid NOT NULL REFERENCES participations (id),
    resource_id      text NOT NULL,
    host_office      text NOT NULL,
    office           text NOT NULL,
    worker           text NOT NULL,
    started_at       timestamptz NOT NULL,
    stable_at        timestamptz
);
CREATE INDEX placements_of ON placements (participation_id);
-- Each check-in is raised once (raised_at), and none once the placement is stable.
CREATE TABLE follow_ups (
    placement_id uuid NOT NULL REFERENCES placements (id),
    step         text NOT NULL,
    due_at       timestamptz NOT NULL,
    raised_at    timestamptz,
    PRIMARY KEY (placement_id, step)
);
CREATE INDEX follow_ups_due ON follow_ups (due_at) WHERE raised_at IS NULL;
CREATE TABLE host_visits (
    id           uuid PRIMARY KEY,
    placement_id uuid NOT NULL REFERENCES placements (id),
    visited_on   date NOT NULL,
    by_user      text NOT NULL,
    note         text NOT NULL,
    recorded_at  timestamptz NOT NULL
);
-- A need of a participation no resource met: recorded (and announced) once per need.
CREATE TABLE resource_gaps (
    participation_id uuid NOT NULL REFERENCES participations (id),
    need_code        text NOT NULL,
    gap_id           uuid NOT NULL,
    PRIMARY KEY (participation_id, need_code)
);
