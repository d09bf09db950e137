-- Every service's view of the directory (owned by referral, fed by DirectoryChanged): which
-- offices exist, the legal body each belongs to, whether it takes hand-overs, and who staffs
-- it. Where a user acts is looked up here, never read from a role or a token. Each revision
-- replaces the whole view; an older revision arriving late is ignored.
CREATE TABLE directory_view_revision (
    municipality text PRIMARY KEY,
    revision     bigint NOT NULL,
    changed_at   timestamptz NOT NULL
);

CREATE TABLE legal_body_view (
    legal_body_id text PRIMARY KEY,
    municipality  text NOT NULL,
    kind          text NOT NULL,
    participating boolean NOT NULL
);

CREATE TABLE office_view (
    office_id       text PRIMARY KEY,
    municipality    text NOT NULL,
    legal_body_id   text NOT NULL,
    kind            text NOT NULL,
    takes_handovers boolean NOT NULL
);

CREATE TABLE office_staff_view (
    office_id    text NOT NULL,
    user_id      text NOT NULL,
    municipality text NOT NULL,
    PRIMARY KEY (office_id, user_id)
);
CREATE INDEX office_staff_view_user ON office_staff_view (user_id);
