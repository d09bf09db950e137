-- What a consent to every participating body means: the legal bodies taking part when it was
-- given (ConsentGranted.participating_bodies). Consents granted before this was recorded keep
-- an empty list: their choice covers no body of its own (kit/policy.py Consent).
ALTER TABLE consent_view ADD COLUMN participating_bodies text[] NOT NULL DEFAULT '{}';
