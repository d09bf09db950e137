-- Consent scopes: "every participating body" as an explicit choice (with evidence), and
-- withdrawal for single bodies beside withdrawal in whole.
ALTER TABLE consents
    ADD COLUMN all_participating boolean NOT NULL DEFAULT false,
    ADD COLUMN withdrawn_for text[] NOT NULL DEFAULT '{}';

CREATE TABLE consent_partial_withdrawals (
    consent_id   uuid NOT NULL REFERENCES consents (id),
    bodies       text[] NOT NULL,
    withdrawn_at timestamptz NOT NULL,
    withdrawn_by text NOT NULL,
    reason       text
);
CREATE INDEX consent_partial_withdrawals_consent ON consent_partial_withdrawals (consent_id);

-- What an agency was handed stays with it: a copy of what was disclosed at the hand-over, as
-- it was then, with the consents it relied on. The receiver reads its copy after the consent
-- stops covering it; the live record and anything later it reads only while a consent does.
CREATE TABLE handover_copies (
    id              uuid PRIMARY KEY,
    municipality    text NOT NULL,
    consultation_id uuid NOT NULL REFERENCES consultations (id),
    to_office       text NOT NULL,
    to_legal_body   text NOT NULL,
    consent_ids     uuid[] NOT NULL,
    handed_over_at  timestamptz NOT NULL,
    handed_over_by  text NOT NULL,
    disclosed       jsonb NOT NULL,
    UNIQUE (consultation_id, to_office)
);
