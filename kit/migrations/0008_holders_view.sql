-- Who holds which case (a person or a consultation), kept from intake's events by the services
-- where only a holder acts (kit/views.py HOLDER_HANDLERS; kit/holders.py decides who holds).
-- Until this migration plans and meetings each kept it in a table of their own
-- (case_holders_view); their own next migration moves those rows here and drops it.
CREATE TABLE holders_view (
    subject_id   uuid NOT NULL,   -- a person or a consultation
    municipality text NOT NULL,
    office       text NOT NULL,
    PRIMARY KEY (subject_id, office)
);
