-- The body holding the meeting (bodies.json); meetings before it were held by the body named
-- like their kind.
ALTER TABLE meetings ADD COLUMN body text;
UPDATE meetings SET body = kind;
ALTER TABLE meetings ALTER COLUMN body SET NOT NULL;
