-- issue 17: an agreement's own id, kept across re-registrations, so PartnerAgreed can name the
-- agreement (statistics counts partner offices under agreement) without the partner's user id.
ALTER TABLE partner_agreements ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE;
