-- The body holding the meeting (bodies.json); meetings before it were held by the body named
-- like their kind.
ALTER TABLE meetings ADD COLUMN body text;
UPDATE meetings SET body = kind;
ALTER TABLE meetings ALTER COLUMN body SET NOT NULL;
-- 合同開催: one session of several bodies. Each body's part is a meeting of its own (members,
-- pledges, agenda, rule, decisions), so a member of one body never sees another body's items;
-- the parts share only this id (that of the first part).
ALTER TABLE meetings ADD COLUMN joint_session uuid;
CREATE INDEX meetings_joint_session ON meetings (joint_session);
