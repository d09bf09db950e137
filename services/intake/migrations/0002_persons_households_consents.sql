-- People (名寄せ): what was typed is kept as typed; matching uses normalised keys beside it.
CREATE TABLE persons (
    id                uuid PRIMARY KEY,
    municipality      text NOT NULL,
    family_name       text NOT NULL,
    given_name        text NOT NULL,
    family_kana       text NOT NULL,
    given_kana        text NOT NULL,
    kana_key          text NOT NULL,     -- normalize_kana(family_kana || given_kana)
    kanji_key         text NOT NULL,     -- normalize_kanji(family_name || given_name)
    kana_deletions    text[] NOT NULL,   -- the key with each one character deleted (typo blocking)
    birth_date        date,
    sex               text,
    address           text,
    address_key       text,
    phone             text,
    phone_key         text,
    atena_number      text,              -- 宛名番号, the city's own person number
    merged_into       uuid REFERENCES persons (id),
    registered_agency text NOT NULL,
    registered_by     text NOT NULL,
    registered_at     timestamptz NOT NULL
);
CREATE UNIQUE INDEX persons_atena ON persons (municipality, atena_number)
    WHERE atena_number IS NOT NULL AND merged_into IS NULL;
CREATE INDEX persons_kana_key ON persons (municipality, kana_key);
CREATE INDEX persons_kana_deletions ON persons USING gin (kana_deletions);
CREATE INDEX persons_kanji_key ON persons (municipality, kanji_key);
CREATE INDEX persons_birth_date ON persons (municipality, birth_date);

-- Merges are explicit acts with history; an unmerge closes the row, it is never deleted.
CREATE TABLE person_merges (
    id                  uuid PRIMARY KEY,
    municipality        text NOT NULL,
    surviving_person_id uuid NOT NULL REFERENCES persons (id),
    merged_person_id    uuid NOT NULL REFERENCES persons (id),
    reason              text NOT NULL,
    merged_by           text NOT NULL,
    merged_at           timestamptz NOT NULL,
    unmerged_by         text,
    unmerge_reason      text,
    unmerged_at         timestamptz
);
CREATE UNIQUE INDEX person_merges_open ON person_merges (merged_person_id) WHERE unmerged_at IS NULL;

CREATE TABLE households (
    id           uuid PRIMARY KEY,
    municipality text NOT NULL,
    address      text,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE TABLE household_members (
    household_id uuid NOT NULL REFERENCES households (id),
    person_id    uuid NOT NULL REFERENCES persons (id),
    relation     text NOT NULL,
    PRIMARY KEY (household_id, person_id)
);
CREATE INDEX household_members_person ON household_members (person_id);

CREATE TABLE consultation_persons (
    consultation_id uuid NOT NULL REFERENCES consultations (id),
    person_id       uuid NOT NULL REFERENCES persons (id),
    PRIMARY KEY (consultation_id, person_id)
);
CREATE INDEX consultation_persons_person ON consultation_persons (person_id);

ALTER TABLE consultations
    ADD COLUMN household_id uuid REFERENCES households (id),
    ADD COLUMN handover     jsonb,   -- 共通の様式: main complaint, reason, consent relied on
    ADD COLUMN intake_sheet jsonb,   -- インテーク・アセスメントシート items for the national report
    ADD COLUMN health_notes text;    -- health details: hidden from those without the right
CREATE INDEX consultations_household ON consultations (household_id);

-- Consent to share (個人情報共有の同意). Immutable once given: a change is a new record; only
-- withdrawal and the expiry announcement are ever written afterwards (enforced below).
CREATE TABLE consents (
    id              uuid PRIMARY KEY,
    municipality    text NOT NULL,
    person_id       uuid NOT NULL REFERENCES persons (id),
    given_by        text NOT NULL CHECK (given_by IN ('person', 'guardian', 'representative')),
    given_by_name   text,
    agencies        text[] NOT NULL,
    purposes        text[] NOT NULL,
    method          text NOT NULL CHECK (method IN ('written', 'oral')),
    given_at        timestamptz NOT NULL,
    valid_until     timestamptz,
    evidence_ref    text,
    recorded_by     text NOT NULL,
    recorded_agency text NOT NULL,
    withdrawn_at    timestamptz,
    withdrawn_by    text,
    withdrawal_reason text,
    expiry_announced_at timestamptz
);
CREATE INDEX consents_person ON consents (person_id);
CREATE INDEX consents_expiring ON consents (valid_until)
    WHERE withdrawn_at IS NULL AND expiry_announced_at IS NULL AND valid_until IS NOT NULL;

CREATE FUNCTION consents_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.person_id, NEW.given_by, NEW.agencies, NEW.purposes, NEW.method, NEW.given_at,
        NEW.valid_until, NEW.evidence_ref) IS DISTINCT FROM
       (OLD.person_id, OLD.given_by, OLD.agencies, OLD.purposes, OLD.method, OLD.given_at,
        OLD.valid_until, OLD.evidence_ref)
       OR (OLD.withdrawn_at IS NOT NULL AND NEW.withdrawn_at IS DISTINCT FROM OLD.withdrawn_at) THEN
        RAISE EXCEPTION 'a consent is immutable once given: record a new one instead';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER consents_immutable BEFORE UPDATE ON consents
    FOR EACH ROW EXECUTE FUNCTION consents_immutable();
CREATE TRIGGER consents_no_delete BEFORE DELETE ON consents
    FOR EACH ROW EXECUTE FUNCTION consents_immutable();
