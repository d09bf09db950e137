-- meetings' view of who holds which case, kept from intake's events (kit/holders.py), so that
-- only a holder tables a person or a consultation: meetings owns no case of its own. It knows
-- what the events said (registrations, consultations, who came, where they went), not what
-- intake decides later (merges): a holder of a merged record is refused here until the
-- surviving record is held, which errs on the side of refusing.
CREATE TABLE case_holders_view (
    subject_id   uuid NOT NULL,   -- a person or a consultation
    municipality text NOT NULL,
    office       text NOT NULL,
    PRIMARY KEY (subject_id, office)
);
CREATE TABLE consultation_persons_view (
    consultation_id uuid NOT NULL,
    municipality    text NOT NULL,
    person_id       uuid NOT NULL,
    PRIMARY KEY (consultation_id, person_id)
);
