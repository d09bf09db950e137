-- What the access policy needs: who the consultation came from and whom it concerns.
ALTER TABLE referrals
    ADD COLUMN from_division text NOT NULL DEFAULT '',
    ADD COLUMN person_ids uuid[] NOT NULL DEFAULT '{}';
