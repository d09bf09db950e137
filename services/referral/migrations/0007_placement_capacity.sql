-- A placement takes one of its resource's free places (took_place: it did, there being one free),
-- and gives it back when it ends. Placements made before this took none, and give none back.
ALTER TABLE placements ADD COLUMN took_place boolean NOT NULL DEFAULT false,
    ADD COLUMN ended_at timestamptz, ADD COLUMN end_reason text;
