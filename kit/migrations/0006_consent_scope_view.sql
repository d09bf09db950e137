-- Consent scopes: "every participating body" is an explicit choice, and a consent can be
-- withdrawn for single bodies (withdrawn_for) while it still covers the others.
ALTER TABLE consent_view
    ADD COLUMN all_participating boolean NOT NULL DEFAULT false,
    ADD COLUMN withdrawn_for text[] NOT NULL DEFAULT '{}';
