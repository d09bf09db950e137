-- plans' view of who holds which case, kept from intake's events (kit/holders.py), as meetings
-- keeps it: only a holder of every person writes their assessment or plan.
CREATE TABLE case_holders_view (
    subject_id   uuid NOT NULL,   -- a person or a consultation
    municipality text NOT NULL,
    office       text NOT NULL,
    PRIMARY KEY (subject_id, office)
);

-- The 重層的支援会議's decisions (MeetingDecided), and which of them a correction superseded.
-- A 支援会議's decisions (confidential-106-6) are never kept here: nothing consent-based may show them.
CREATE TABLE decisions_view (
    decision_id   uuid PRIMARY KEY,
    municipality  text NOT NULL,
    meeting_id    uuid NOT NULL,
    kind          text NOT NULL,
    person_ids    uuid[] NOT NULL,
    plan_id       uuid,
    plan_version  integer,
    assessment_id uuid,
    lead_agency   text,
    lead_worker   text,
    evaluation    text,
    supersedes    uuid,
    superseded_by uuid,
    decided_at    timestamptz NOT NULL
);
CREATE INDEX decisions_view_persons ON decisions_view USING gin (person_ids);

CREATE TABLE assessments (
    id           uuid PRIMARY KEY,
    municipality text NOT NULL,
    person_ids   uuid[] NOT NULL,
    office       text NOT NULL,       -- the holding office that writes it
    written_by   text NOT NULL,
    sheet        jsonb NOT NULL,
    status       text NOT NULL CHECK (status IN ('draft', 'completed', 'approved')),
    decision_id  uuid,                -- the approve_assessment decision it rests on
    created_at   timestamptz NOT NULL,
    changed_at   timestamptz NOT NULL
);

-- A plan: its versions in plan_versions; the version in force is the highest approved one.
CREATE TABLE plans (
    id           uuid PRIMARY KEY,
    municipality text NOT NULL,
    person_ids   uuid[] NOT NULL,
    office       text NOT NULL,       -- the holding office that drafted it
    latest       integer NOT NULL,
    started      boolean NOT NULL DEFAULT false,  -- progress recorded since the last approval
    lead_agency  text NOT NULL,       -- of the version in force (of the draft before)
    lead_worker  text NOT NULL,
    team         text[] NOT NULL,     -- offices with a role in the version in force or the latest
    closed_by    uuid,
    evaluation   text CHECK (evaluation IN ('met', 'partly_met', 'not_met')),
    evaluation_why text,
    closed_at    timestamptz,
    created_at   timestamptz NOT NULL,
    changed_at   timestamptz NOT NULL
);
CREATE INDEX plans_persons ON plans USING gin (person_ids);

CREATE TABLE plan_versions (
    plan_id      uuid NOT NULL REFERENCES plans (id),
    version      integer NOT NULL,
    content      jsonb NOT NULL,
    written_by   text NOT NULL,
    written_at   timestamptz NOT NULL,
    decision_id  uuid,                -- the approve_plan decision in force, if approved
    approved_at  timestamptz,
    PRIMARY KEY (plan_id, version)
);

CREATE TABLE progress_entries (
    id           uuid PRIMARY KEY,
    plan_id      uuid NOT NULL REFERENCES plans (id),
    version      integer NOT NULL,    -- the version in force when it was written
    office       text NOT NULL,
    written_by   text NOT NULL,
    body         text NOT NULL,
    recorded_at  timestamptz NOT NULL
);
CREATE INDEX progress_entries_plan ON progress_entries (plan_id, recorded_at);

-- The responsibility ledger (services/plans/ledger.py): never deleted; a superseded entry is
-- kept with in_force = false.
CREATE TABLE lead_ledger (
    person_id    uuid NOT NULL,
    decision_id  uuid NOT NULL,
    municipality text NOT NULL,
    lead_agency  text NOT NULL,
    lead_worker  text NOT NULL,
    effective_at timestamptz NOT NULL,
    plan_id      uuid,
    in_force     boolean NOT NULL DEFAULT true,
    recorded_at  timestamptz NOT NULL,
    PRIMARY KEY (person_id, decision_id)
);

-- Timers raised once each by a periodic job: a plan's review dates, the stay-connected checks
-- after closure, and the lead a meeting must assign (the row is marked in the transaction that
-- records its event).
CREATE TABLE plan_timers (
    plan_id      uuid NOT NULL REFERENCES plans (id),
    kind         text NOT NULL CHECK (kind IN ('review', 'connection')),
    seq          integer NOT NULL,    -- review: the version's n-th date; connection: the n-th check
    version      integer NOT NULL,
    municipality text NOT NULL,
    due_at       timestamptz NOT NULL,
    raised_at    timestamptz,
    PRIMARY KEY (plan_id, kind, version, seq)
);
CREATE INDEX plan_timers_due ON plan_timers (due_at) WHERE raised_at IS NULL;

CREATE TABLE lead_watch (
    person_id    uuid NOT NULL,
    decision_id  uuid NOT NULL,
    meeting_id   uuid NOT NULL,
    municipality text NOT NULL,
    due_at       timestamptz NOT NULL,
    settled_at   timestamptz,         -- raised, or a lead was found in force
    PRIMARY KEY (person_id, decision_id)
);
CREATE INDEX lead_watch_due ON lead_watch (due_at) WHERE settled_at IS NULL;
