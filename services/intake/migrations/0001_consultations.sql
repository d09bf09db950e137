CREATE TABLE consultations (
    id                 uuid PRIMARY KEY,
    municipality       text NOT NULL,
    received_at        timestamptz NOT NULL,
    channel            text NOT NULL,
    receiving_division text NOT NULL,
    received_by        text NOT NULL,
    main_complaint     text NOT NULL,
    categories         text[] NOT NULL,
    urgency            text NOT NULL,
    destination_kind   text NOT NULL,
    destination_agency text,
    recorded_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consultations_division ON consultations (municipality, receiving_division, received_at);
