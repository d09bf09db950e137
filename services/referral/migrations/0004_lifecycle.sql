-- Referrals a holder makes from an existing consultation, and their closed loop (requested ->
-- accepted / declined -> in_progress -> completed, or withdrawn by the referrer).
ALTER TABLE referrals
    ADD COLUMN reason          text,
    ADD COLUMN referred_by     text,
    ADD COLUMN decline_reason  text,
    ADD COLUMN outcome         text,
    ADD COLUMN escalated_from  uuid,
    ADD COLUMN changed_at      timestamptz;
CREATE INDEX referrals_from_office ON referrals (municipality, from_division, requested_at);
-- What a referral is made from, so nobody retypes it: the routing facts of each consultation,
-- as ConsultationReceived carries them (the complaint and identities stay in intake).
CREATE TABLE consultations_view (
    consultation_id    uuid PRIMARY KEY,
    municipality       text NOT NULL,
    receiving_division text NOT NULL,
    destination_kind   text NOT NULL,
    destination_agency text,
    categories         text[] NOT NULL,
    urgency            text NOT NULL,
    person_ids         uuid[] NOT NULL,
    present_ids        uuid[] NOT NULL
);
-- One live referral per consultation and office; after a decline or withdrawal it may be made again.
ALTER TABLE referrals DROP CONSTRAINT referrals_municipality_consultation_id_to_agency_key;
CREATE UNIQUE INDEX referrals_live ON referrals (municipality, consultation_id, to_agency)
    WHERE status IN ('requested', 'accepted', 'in_progress');
