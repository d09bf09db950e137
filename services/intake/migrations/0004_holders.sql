-- Holding a person's case (ACCESS.md): the window the person came to themselves holds it; a
-- person merely named on a consultation is not held by naming them.
ALTER TABLE consultation_persons ADD COLUMN present boolean NOT NULL DEFAULT false;

-- A household is written by the office that created it (its holder); rows from before this
-- migration have no owner and are read-only until a holder recreates them.
ALTER TABLE households ADD COLUMN created_agency text;
