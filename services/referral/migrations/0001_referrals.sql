CREATE TABLE referrals (
    id               uuid PRIMARY KEY,
    municipality     text NOT NULL,
    consultation_id  uuid NOT NULL,
    destination_kind text NOT NULL,
    to_agency        text NOT NULL,
    categories       text[] NOT NULL,
    urgency          text NOT NULL,
    status           text NOT NULL,
    requested_at     timestamptz NOT NULL,
    -- one routing task per consultation and office: a business-level guard beside the inbox
    UNIQUE (municipality, consultation_id, to_agency)
);
CREATE INDEX referrals_to_agency ON referrals (municipality, to_agency, requested_at);
