-- outreach (issue 12): partners under watch-over agreements, their concern reports, weak-signal
-- alerts, and outreach cases with their contact log and support actions. Before consent all of
-- it is 支援会議 material (kit/policy.py: confidential_106_6), read by the holding office and the
-- pledged members of a 支援会議 where the person is tabled.

-- 見守り協定: a partner account (a user staffing a partner office of the directory).
CREATE TABLE partner_agreements (
    municipality  text NOT NULL,
    user_id       text NOT NULL,
    office_id     text NOT NULL,
    since         date NOT NULL,
    until         date,
    may_report    text[] NOT NULL,
    registered_by text NOT NULL,
    registered_at timestamptz NOT NULL,
    PRIMARY KEY (municipality, user_id)
);

CREATE TABLE concern_reports (
    id             uuid PRIMARY KEY,
    municipality   text NOT NULL,
    reported_by    text NOT NULL,
    partner_office text NOT NULL,
    person_name    text,
    address        text,
    subject_kind   text NOT NULL,
    subject_key    text NOT NULL,   -- sha256 of the normalised address or name
    seen           text[] NOT NULL,
    note           text,
    seen_at        timestamptz NOT NULL,
    urgency        text NOT NULL,
    reported_at    timestamptz NOT NULL,
    status         text NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'being_looked_at')),
    looked_at      timestamptz
);
CREATE INDEX concern_reports_window ON concern_reports (municipality, subject_key, reported_at);

-- One row per subject, locked (FOR UPDATE) while a report about it is counted: two reports
-- arriving together are counted one after the other, so they raise one alert, never two or none.
CREATE TABLE signal_subjects (
    municipality  text NOT NULL,
    subject_key   text NOT NULL,
    last_alert_at timestamptz,
    PRIMARY KEY (municipality, subject_key)
);
CREATE TABLE weak_signal_alerts (
    id           uuid PRIMARY KEY,
    municipality text NOT NULL,
    subject_key  text NOT NULL,
    report_ids   uuid[] NOT NULL,
    raised_at    timestamptz NOT NULL,
    UNIQUE (municipality, subject_key, raised_at)
);

CREATE TABLE outreach_cases (
    id              uuid PRIMARY KEY,
    municipality    text NOT NULL,
    office          text NOT NULL,   -- the holding office
    worker          text,
    stage           text NOT NULL,
    paused_from     text,
    person_id       uuid,
    person_name     text,
    address         text,
    known           text,            -- what is known, before consent only what is needed
    identified      boolean NOT NULL,
    origin          text NOT NULL,
    origin_id       uuid,
    meeting_ids     uuid[] NOT NULL DEFAULT '{}',  -- 支援会議 that decided on it
    handover_to     text,
    handover_categories text[] NOT NULL DEFAULT '{}',
    consent_id      uuid,
    consultation_id uuid,
    end_reason      text,
    contact_due_at  timestamptz,     -- the next attempt, due by the end of this working day
    overdue_at      timestamptz,     -- ContactOverdue raised for contact_due_at
    created_at      timestamptz NOT NULL,
    changed_at      timestamptz NOT NULL
);
-- A meeting's decision (redelivered, or naming a person twice) opens one case per person.
CREATE UNIQUE INDEX outreach_cases_origin ON outreach_cases (municipality, origin_id, person_id)
    WHERE origin = 'meeting';
CREATE INDEX outreach_cases_person ON outreach_cases (person_id) WHERE person_id IS NOT NULL;
CREATE INDEX outreach_cases_due ON outreach_cases (contact_due_at)
    WHERE overdue_at IS NULL AND stage IN ('not_contacted', 'attempting_contact', 'contact_made',
                                           'relationship_building');

CREATE TABLE contact_attempts (
    id              uuid PRIMARY KEY,
    case_id         uuid NOT NULL REFERENCES outreach_cases (id),
    method          text NOT NULL,
    outcome         text NOT NULL,
    attempted_at    timestamptz NOT NULL,
    next_attempt_on date,
    note            text,
    recorded_by     text NOT NULL
);
CREATE INDEX contact_attempts_case ON contact_attempts (case_id, attempted_at);

-- Home visits and accompanying the person to an agency (支援の実施).
CREATE TABLE support_actions (
    id          uuid PRIMARY KEY,
    case_id     uuid NOT NULL REFERENCES outreach_cases (id),
    kind        text NOT NULL,
    done_at     timestamptz NOT NULL,
    to_office   text,
    note        text,
    recorded_by text NOT NULL
);
CREATE INDEX support_actions_case ON support_actions (case_id, done_at);
