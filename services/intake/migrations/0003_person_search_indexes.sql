-- Indexes for candidate search.

-- The address: a moved person's namesakes are told apart by it when no birth date was typed.
CREATE INDEX persons_address_key ON persons (municipality, address_key);

-- The deletion-key GIN index without a pending list: with fastupdate, new rows wait in an
-- unsorted list that every search scans until a vacuum merges it (searches of a second after a
-- bulk import, measured at 1M people). A register gains about a thousand people a year:
-- predictable searches matter more than insert speed.
ALTER INDEX persons_kana_deletions SET (fastupdate = off);
