-- What a consent to every participating body means: the legal bodies taking part when it was
-- given, as intake's directory view said. Consents given before this was recorded keep an
-- empty list: their choice covers no body of its own, only the bodies they name.
ALTER TABLE consents ADD COLUMN participating_bodies text[] NOT NULL DEFAULT '{}';
