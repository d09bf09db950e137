-- The directory referral owns: each revision as loaded from the operator's file, published as
-- DirectoryChanged. The digest tells an edited file from one read again unchanged.
CREATE TABLE directory_revisions (
    revision     bigint PRIMARY KEY,
    municipality text NOT NULL,
    digest       text NOT NULL,
    body         jsonb NOT NULL,
    published_at timestamptz NOT NULL
);
